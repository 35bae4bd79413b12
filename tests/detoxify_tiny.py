"""Tiny, randomly initialised Detoxify checkpoints, built offline in a fraction of a second.

Not a test module: tests (and the benchmark) import it. A checkpoint has Detoxify's exact
format: `{"config": {"arch": {"args": {model_type, model_name, tokenizer_name,
num_classes}}, "dataset": {"args": {"classes": [...]}}}, "state_dict": ...}`, next to a
config directory (config.json + tokenizer files) for `huggingface_config_path`.

- "original": a 2-layer, 32-wide BERT with a WordPiece vocab.txt (BertTokenizer), 6 labels.
- "multilingual": a 2-layer, 32-wide XLM-R with 16 outputs (7 named classes, like the real
  checkpoint, plus 9 unnamed identity heads) and a Unigram tokenizer whose pieces come from
  a SentencePiece model trained here on generated words. transformers 5 would need protobuf
  to read a `.model` file, so the pieces are taken through sentencepiece's own API and the
  tokenizer is saved as tokenizer.json, which is what XLMRobertaTokenizer loads.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import sentencepiece as spm
import torch
import transformers

TinyVariant = Literal["original", "multilingual"]

ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
BIAS_CLASSES = ["toxicity", "severe_toxicity", "obscene", "identity_attack", "insult",
                "threat", "sexual_explicit"]
# The unbiased and multilingual checkpoints have 9 more outputs, for identity mentions.
IDENTITY_CLASSES = ["male", "female", "homosexual_gay_or_lesbian", "christian", "jewish",
                    "muslim", "black", "white", "psychiatric_or_mental_illness"]

MAX_LENGTH = 128  # the tiny models' window (positions) unless a test forces a smaller one
HUB_MODEL_TYPES = {"original": "bert-base-uncased", "multilingual": "xlm-roberta-base"}

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bo", "da", "fe",
              "gi", "hu", "ja", "pe", "qui", "ro", "su", "ti")


def tiny_words(count: int = 200, seed: int = 0) -> list[str]:
    """Distinct, made-up lowercase words; the tiny vocabularies hold each one whole."""
    rng = random.Random(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def wordpiece_vocab(words: Iterable[str], size: int | None = None) -> list[str]:
    """A BERT vocabulary: specials, single characters (so nothing is [UNK]), then `words`.

    With `size`, padded with dummy tokens to exactly that many entries (BERT base: 30522).
    """
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted({c for w in words for c in w} | set("abcdefghijklmnopqrstuvwxyz0123456789")
                   | set(".,!?'\"#@:;-()&/*"))
    vocab += chars + ["##" + c for c in chars if c.isalnum()]
    seen = set(vocab)
    for word in words:
        if word not in seen:
            seen.add(word)
            vocab.append(word)
    if size is not None:
        if len(vocab) > size:
            del vocab[size:]
        vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def train_sentencepiece(sentences: Iterable[str], vocab_size: int) -> bytes:
    """A unigram SentencePiece model trained in memory (no files, no network)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, minloglevel=2, num_threads=1,
        hard_vocab_limit=False)
    return model.getvalue()


def xlmr_tokenizer(sentencepiece_model: bytes, model_max_length: int
                   ) -> transformers.XLMRobertaTokenizer:
    """XLM-R's tokenizer over a SentencePiece model, with fairseq's id layout.

    Like the real one: <s>=0, <pad>=1, </s>=2, <unk>=3, then the pieces, then <mask>.
    """
    sp = spm.SentencePieceProcessor(model_proto=sentencepiece_model)
    specials = {sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()}
    pieces: list[tuple[str, float]] = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0),
                                       ("<unk>", 0.0)]
    pieces += [(sp.id_to_piece(i), float(sp.get_score(i)))
               for i in range(sp.get_piece_size()) if i not in specials]
    pieces.append(("<mask>", 0.0))
    return transformers.XLMRobertaTokenizer(vocab=pieces, model_max_length=model_max_length)


def _sentences(words: Sequence[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(count)]


def build_tiny_checkpoint(directory: Path, variant: TinyVariant = "original", *,
                          local_model_type: bool = False, seed: int = 0) -> tuple[Path, Path]:
    """Write `<directory>/<variant>.ckpt` and `<directory>/<variant>-hf/`; return both paths.

    The checkpoint's `model_type` is the real hub name (bert-base-uncased, xlm-roberta-base),
    which cannot resolve offline: `DetoxifyModel` must cope with that, as it must with the
    released files. `local_model_type=True` points it at the config directory instead, so
    that plain `transformers.*.from_pretrained(model_type)` works offline (used to stand in
    for the hub in `pull`'s tests).
    """
    directory.mkdir(parents=True, exist_ok=True)
    config_dir = directory / f"{variant}-hf"
    config_dir.mkdir(exist_ok=True)
    torch.manual_seed(seed)
    words = tiny_words(seed=seed)
    model: transformers.PreTrainedModel
    tokenizer: transformers.PreTrainedTokenizerBase
    config: transformers.PretrainedConfig
    if variant == "original":
        vocab_file = config_dir / "vocab.txt"
        vocab_file.write_text("\n".join(wordpiece_vocab(words)) + "\n", encoding="utf-8")
        tokenizer = transformers.BertTokenizer(vocab=str(vocab_file), model_max_length=MAX_LENGTH)
        config = transformers.BertConfig(
            vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=37, initializer_range=0.2,
            max_position_embeddings=MAX_LENGTH, id2label=dict(enumerate(ORIGINAL_CLASSES)))
        model = transformers.BertForSequenceClassification(config)
        args: dict[str, str | int] = {
            "model_type": HUB_MODEL_TYPES[variant], "num_classes": len(ORIGINAL_CLASSES),
            "model_name": "BertForSequenceClassification", "tokenizer_name": "BertTokenizer"}
        classes = ORIGINAL_CLASSES
    else:
        pieces = train_sentencepiece(_sentences(words, 400, seed), vocab_size=200)
        tokenizer = xlmr_tokenizer(pieces, MAX_LENGTH)
        outputs = BIAS_CLASSES + IDENTITY_CLASSES
        # RoBERTa positions start after the padding index: two more than the window.
        config = transformers.XLMRobertaConfig(
            vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=37, initializer_range=0.2,
            max_position_embeddings=MAX_LENGTH + 2, id2label=dict(enumerate(outputs)))
        model = transformers.XLMRobertaForSequenceClassification(config)
        args = {"model_type": HUB_MODEL_TYPES[variant], "num_classes": len(outputs),
                "model_name": "XLMRobertaForSequenceClassification",
                "tokenizer_name": "XLMRobertaTokenizer"}
        classes = BIAS_CLASSES  # like the real checkpoint: the identity outputs are unnamed
    tokenizer.save_pretrained(str(config_dir))
    config.save_pretrained(str(config_dir))
    if local_model_type:
        args["model_type"] = str(config_dir)
    checkpoint = directory / f"{variant}.ckpt"
    torch.save({"config": {"arch": {"args": args}, "dataset": {"args": {"classes": classes}}},
                "state_dict": model.state_dict()}, checkpoint)
    return checkpoint, config_dir
