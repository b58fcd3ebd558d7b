"""The revisions, oldest first: 0001 tokens, raw rows and daily sums; 0002 latency histograms in the sums."""
