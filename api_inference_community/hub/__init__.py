"""Models and where they come from: resolution (local folder, Hub cache, Hub), cards, availability, library images."""
