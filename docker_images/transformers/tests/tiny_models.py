"""Tiny random-weight models for every task, built offline in the Hub's format.

Each builder writes one model folder (`config.json`, `model.safetensors`, the tokenizer or the
processor the pipeline needs) with hidden sizes around 32. Tokenizers are real ones, trained in
memory on a small corpus by the `tokenizers` library (WordPiece, byte-level BPE, Unigram) or
written from a character vocabulary; weights are random but seeded, so every build is the same.
Tests check shapes, types, ordering and parameter effects, never the values these weights give.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, Iterable, List

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

# Words of every example request of the core (so that they tokenize into known pieces) and more.
CORPUS = [
    "My name is Sarah and I live in London. I work at a bakery.",
    "My name is Wolfgang and I live in Berlin. Paris is the capital of France.",
    "The capital of France is Paris. Today is a sunny day. The weather is lovely, isn't it?",
    "I like you. I love you. I hate rainy days. Once upon a time, there was a little cat.",
    "translate English to German: How old are you? summarize: the story of a bakery in London.",
    "My phone is broken, fix it asap! urgent, not urgent, phone, cat, dog, square, bird.",
    "Which movie is the best? Hi! Hello. Hello world. What is in the picture? What is the total?",
    "a yellow square on a blue background. How many stars does transformers have?",
    "Repository Transformers Datasets Stars 36542 4512 Invoice number 42 total amount date 2024",
    "This example is positive. This example is negative. This example is about sports.",
    "The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 10 100 1000.",
    "you are a helpful assistant. user assistant system question answer context label score",
]
LABELS = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
NLI_LABELS = ["contradiction", "neutral", "entailment"]
IMAGE_LABELS = ["cat", "dog", "bird", "fish"]
SEGMENT_LABELS = ["background", "sky", "square"]
DETECTION_LABELS = ["square", "circle"]
SAMPLING_RATE = 16000
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
MAX_POSITIONS = 512  # pipelines generate up to 256 new tokens by default: leave them room
GENERATED_TOKENS = 8  # the generative models' own default length: short answers, fast tests
TRANSLATION_PREFIX = "translate English to German: "

Builder = Callable[[Path], None]


def seeded(seed: int) -> None:
    torch.manual_seed(seed)


def labels_config(labels: List[str]) -> Dict[str, Dict]:
    return {"id2label": dict(enumerate(labels)), "label2id": {label: i for i, label in enumerate(labels)}}


def save(model: torch.nn.Module, directory: Path, *processors_: object) -> None:
    """The model in eval mode and its processors, saved as the Hub stores them (safetensors)."""
    model.eval()
    model.save_pretrained(str(directory), safe_serialization=True)
    for processor in processors_:
        processor.save_pretrained(str(directory))


# ------------------------------------------------------------ tokenizers


def wordpiece(vocab_size: int = 400, max_length: int = MAX_POSITIONS, token_types: bool = True):
    """A BERT tokenizer (lower case, WordPiece) trained on the corpus; CLIP-like models take no token types."""
    from transformers import BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1)
    tokenizer.train_from_iterator(CORPUS, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
        do_lower_case=True,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"][:: 1 if token_types else 2],
    )


def byte_level_bpe(vocab_size: int = 500, max_length: int = MAX_POSITIONS, extra: List[str] = ()):
    """A GPT-2 tokenizer (byte-level BPE) trained on the corpus."""
    from transformers import GPT2TokenizerFast

    eos = "<|endoftext|>"
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[eos, *extra],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=1,
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return GPT2TokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=eos,
        eos_token=eos,
        unk_token=eos,
        pad_token=eos,
        model_max_length=max_length,
    )


def unigram(vocab_size: int = 300, max_length: int = MAX_POSITIONS):
    """A T5 tokenizer (Unigram, as sentencepiece's) trained on the corpus."""
    from transformers import T5TokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>")
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
    )
    return T5TokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_ids=0,
        model_max_length=max_length,
    )


def characters(directory: Path, specials: List[str], word_delimiter: str = "|") -> Path:
    """vocab.json of single characters (letters, digits, space or its delimiter, punctuation)."""
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789'.,!?-") + [word_delimiter]
    vocab = {token: index for index, token in enumerate(specials + alphabet)}
    path = directory / "vocab.json"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(vocab))
    return path


# ---------------------------------------------------------------- text


def bert_config(**overrides: object):
    from transformers import BertConfig

    settings = dict(
        vocab_size=400,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=MAX_POSITIONS,
    )
    settings.update(overrides)
    return BertConfig(**settings)


def bert_builder(model_class: str, seed: int, **config: object) -> Builder:
    def build(directory: Path) -> None:
        import transformers

        tokenizer = wordpiece()
        seeded(seed)
        model = getattr(transformers, model_class)(bert_config(vocab_size=len(tokenizer), **config))
        save(model, directory, tokenizer)

    return build


def build_text_generation(directory: Path) -> None:
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

    tokenizer = byte_level_bpe()
    tokenizer.chat_template = CHAT_TEMPLATE
    seeded(10)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=MAX_POSITIONS,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        max_new_tokens=GENERATED_TOKENS,
    )
    save(model, directory, tokenizer)


def build_t5(directory: Path) -> None:
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    tokenizer = unigram()
    seeded(11)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    config.task_specific_params = {"translation_en_to_de": {"prefix": TRANSLATION_PREFIX}}
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():  # random weights would generate <pad> forever: make real tokens likelier
        model.lm_head.weight[[tokenizer.pad_token_id, tokenizer.unk_token_id]] = 0.0
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        max_new_tokens=GENERATED_TOKENS,
    )
    save(model, directory, tokenizer)


def build_table_question_answering(directory: Path) -> None:
    from transformers import TapasConfig, TapasForQuestionAnswering, TapasTokenizer

    vocab_dir = directory / "vocab"
    wordpiece().save_pretrained(str(vocab_dir))
    tokenizer = TapasTokenizer(str(vocab_dir / "vocab.txt"), model_max_length=MAX_POSITIONS)
    seeded(12)
    config = TapasConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=MAX_POSITIONS,
        num_aggregation_labels=4,
        use_answer_as_supervision=True,
        aggregation_labels={0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"},
    )
    save(TapasForQuestionAnswering(config), directory, tokenizer)
    for path in vocab_dir.iterdir():
        path.unlink()
    vocab_dir.rmdir()


def build_document_question_answering(directory: Path) -> None:
    from transformers import LayoutLMConfig, LayoutLMForQuestionAnswering, LayoutLMTokenizerFast

    base = wordpiece()
    tokenizer = LayoutLMTokenizerFast(tokenizer_object=base.backend_tokenizer, model_max_length=MAX_POSITIONS)
    seeded(13)
    config = LayoutLMConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=MAX_POSITIONS,
    )
    save(LayoutLMForQuestionAnswering(config), directory, tokenizer)


# ---------------------------------------------------------------- image


def vit_processor(size: int = 32, **overrides: object):
    from transformers import ViTImageProcessor

    return ViTImageProcessor(size={"height": size, "width": size}, **overrides)


def vit_config(**overrides: object):
    from transformers import ViTConfig

    settings = dict(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
    )
    settings.update(overrides)
    return ViTConfig(**settings)


def build_image_classification(directory: Path) -> None:
    from transformers import ViTForImageClassification

    seeded(20)
    model = ViTForImageClassification(vit_config(**labels_config(IMAGE_LABELS)))
    save(model, directory, vit_processor())


def build_object_detection(directory: Path) -> None:
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    seeded(21)
    backbone = ResNetConfig(
        num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], out_features=["stage2"]
    )
    config = DetrConfig(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=backbone,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        num_queries=8,
        **labels_config(DETECTION_LABELS),
    )
    processor = DetrImageProcessor(size={"shortest_edge": 32, "longest_edge": 64})
    save(DetrForObjectDetection(config), directory, processor)


def build_image_segmentation(directory: Path) -> None:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    seeded(22)
    config = SegformerConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 2],
        mlp_ratios=[2, 2],
        decoder_hidden_size=16,
        **labels_config(SEGMENT_LABELS),
    )
    processor = SegformerImageProcessor(size={"height": 32, "width": 32})
    save(SegformerForSemanticSegmentation(config), directory, processor)


def clip_text_config(tokenizer, **overrides: object) -> Dict[str, object]:
    settings = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=64,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    settings.update(overrides)
    return settings


def build_zero_shot_image_classification(directory: Path) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    tokenizer = wordpiece(max_length=64, token_types=False)
    seeded(23)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32)
    config = CLIPConfig(text_config=clip_text_config(tokenizer), vision_config={**vision, "patch_size": 8})
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    save(CLIPModel(config), directory, tokenizer, processor)


def build_zero_shot_object_detection(directory: Path) -> None:
    from transformers import OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor

    tokenizer = wordpiece(max_length=16, token_types=False)
    seeded(24)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32)
    config = OwlViTConfig(
        text_config=clip_text_config(tokenizer, max_position_embeddings=16),
        vision_config={**vision, "patch_size": 8},
        projection_dim=32,
    )
    processor = OwlViTImageProcessor(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32})
    save(OwlViTForObjectDetection(config), directory, tokenizer, processor)


def build_image_to_text(directory: Path) -> None:
    from transformers import GenerationConfig, GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    tokenizer = byte_level_bpe()
    seeded(25)
    decoder = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=MAX_POSITIONS,
        n_embd=32,
        n_layer=2,
        n_head=2,
        add_cross_attention=True,
        is_decoder=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(vit_config(), decoder)
    config.decoder_start_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.eos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        max_new_tokens=GENERATED_TOKENS,
    )
    save(model, directory, tokenizer, vit_processor())


def build_depth_estimation(directory: Path) -> None:
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    seeded(26)
    config = DPTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=37,
        backbone_out_indices=[0, 1, 2, 3],
        neck_hidden_sizes=[8, 8, 16, 16],
        fusion_hidden_size=16,
        head_in_index=-1,
        is_hybrid=False,
        initializer_range=0.15,  # the default (0.02) lets activations vanish through the tiny neck
    )
    processor = DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False)
    model = DPTForDepthEstimation(config)
    with torch.no_grad():  # the head ends with a ReLU: a positive bias keeps random depths above zero
        model.head.head[-2].bias.fill_(1.0)
    save(model, directory, processor)


def build_image_to_image(directory: Path) -> None:
    from transformers import Swin2SRConfig, Swin2SRForImageSuperResolution, Swin2SRImageProcessor

    seeded(27)
    config = Swin2SRConfig(
        image_size=32,
        patch_size=1,
        embed_dim=16,
        depths=[1],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=2,
        upsampler="pixelshuffle",
    )
    processor = Swin2SRImageProcessor(pad_size=4)
    save(Swin2SRForImageSuperResolution(config), directory, processor)


def build_mask_generation(directory: Path) -> None:
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    seeded(28)
    vision = dict(
        hidden_size=32,
        output_channels=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=64,
        patch_size=8,
        mlp_dim=37,
        window_size=4,
        global_attn_indexes=[1],
        num_pos_feats=8,
    )
    prompt = dict(hidden_size=16, image_size=64, patch_size=8, mask_input_channels=4)
    decoder = dict(hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=16)
    config = SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    image_processor = SamImageProcessor(
        size={"longest_edge": 64}, pad_size={"height": 64, "width": 64}, mask_size={"longest_edge": 16}
    )
    save(SamModel(config), directory, SamProcessor(image_processor))


def build_visual_question_answering(directory: Path) -> None:
    from transformers import ViltConfig, ViltForQuestionAnswering, ViltImageProcessor

    tokenizer = wordpiece(max_length=40)
    seeded(29)
    config = ViltConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=40,
        image_size=32,
        patch_size=8,
        max_image_length=-1,
        **labels_config(["yes", "no", "cat", "square", "two"]),
    )
    processor = ViltImageProcessor(size={"shortest_edge": 32}, size_divisor=8)
    save(ViltForQuestionAnswering(config), directory, tokenizer, processor)


# ---------------------------------------------------------------- audio


def wav2vec2_config(**overrides: object):
    from transformers import Wav2Vec2Config

    settings = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(16, 16, 16, 16, 16, 16, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )
    settings.update(overrides)
    return Wav2Vec2Config(**settings)


def wav2vec2_features():
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


def build_automatic_speech_recognition(directory: Path) -> None:
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC, Wav2Vec2Processor

    vocab = characters(directory, ["<pad>", "<s>", "</s>", "<unk>"])
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab), word_delimiter_token="|")
    seeded(30)
    config = wav2vec2_config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    processor = Wav2Vec2Processor(feature_extractor=wav2vec2_features(), tokenizer=tokenizer)
    save(Wav2Vec2ForCTC(config), directory, processor)


def build_audio_classification(directory: Path) -> None:
    from transformers import Wav2Vec2ForSequenceClassification

    seeded(31)
    config = wav2vec2_config(classifier_proj_size=16, **labels_config(["speech", "music", "noise", "silence"]))
    save(Wav2Vec2ForSequenceClassification(config), directory, wav2vec2_features())


def build_text_to_speech(directory: Path) -> None:
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    vocab = characters(directory, ["<pad>", "<unk>"], word_delimiter=" ")
    tokenizer = VitsTokenizer(str(vocab), pad_token="<pad>", unk_token="<unk>", phonemize=False, add_blank=True)
    seeded(32)
    config = VitsConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        window_size=2,
        ffn_dim=16,
        flow_size=8,
        spectrogram_bins=8,
        prior_encoder_num_flows=2,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        duration_predictor_filter_channels=8,
        duration_predictor_num_flows=2,
        upsample_initial_channel=16,
        upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        sampling_rate=SAMPLING_RATE,
        use_stochastic_duration_prediction=False,
    )
    save(VitsModel(config), directory, tokenizer)


# ------------------------------------------------------------- the set

#: model name -> builder (one folder each)
BUILDERS: Dict[str, Builder] = {
    "bert-classifier": bert_builder("BertForSequenceClassification", 1, **labels_config(LABELS)),
    "bert-ner": bert_builder("BertForTokenClassification", 2, **labels_config(NER_LABELS)),
    "bert-mlm": bert_builder("BertForMaskedLM", 3),
    "bert-qa": bert_builder("BertForQuestionAnswering", 4),
    "bert-nli": bert_builder("BertForSequenceClassification", 5, **labels_config(NLI_LABELS)),
    "bert": bert_builder("BertModel", 6),
    "gpt2": build_text_generation,
    "t5": build_t5,
    "tapas": build_table_question_answering,
    "layoutlm": build_document_question_answering,
    "vit": build_image_classification,
    "detr": build_object_detection,
    "segformer": build_image_segmentation,
    "clip": build_zero_shot_image_classification,
    "owlvit": build_zero_shot_object_detection,
    "vit-gpt2": build_image_to_text,
    "dpt": build_depth_estimation,
    "swin2sr": build_image_to_image,
    "sam": build_mask_generation,
    "vilt": build_visual_question_answering,
    "wav2vec2-ctc": build_automatic_speech_recognition,
    "wav2vec2-classifier": build_audio_classification,
    "vits": build_text_to_speech,
}

#: task -> the model that serves it
TASK_MODELS: Dict[str, str] = {
    "text-classification": "bert-classifier",
    "token-classification": "bert-ner",
    "fill-mask": "bert-mlm",
    "question-answering": "bert-qa",
    "zero-shot-classification": "bert-nli",
    "feature-extraction": "bert",
    "text-generation": "gpt2",
    "summarization": "t5",
    "translation": "t5",
    "text2text-generation": "t5",
    "table-question-answering": "tapas",
    "document-question-answering": "layoutlm",
    "image-classification": "vit",
    "object-detection": "detr",
    "image-segmentation": "segformer",
    "zero-shot-image-classification": "clip",
    "zero-shot-object-detection": "owlvit",
    "image-to-text": "vit-gpt2",
    "depth-estimation": "dpt",
    "image-to-image": "swin2sr",
    "mask-generation": "sam",
    "visual-question-answering": "vilt",
    "automatic-speech-recognition": "wav2vec2-ctc",
    "audio-classification": "wav2vec2-classifier",
    "text-to-speech": "vits",
}


def repo_id(name: str) -> str:
    """The Hub id a test model is served as from the offline Hub cache."""
    return f"aic-test/tiny-{name}"


def build(root: Path, names: Iterable[str] = BUILDERS) -> Dict[str, Path]:
    """Build the named models under `root` (each once: an existing folder is reused); {name: folder}."""
    folders = {}
    for name in names:
        folder = Path(root) / name
        if not (folder / "config.json").is_file():
            BUILDERS[name](folder)
        folders[name] = folder
    return folders
