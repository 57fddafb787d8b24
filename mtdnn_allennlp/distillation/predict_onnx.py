"""Predict with an exported MT-DNN model: needs only numpy, onnxruntime and tokenizers.

`allennlp export-onnx` copies this file into the export folder, next to:
  model.onnx      one graph: inputs input_ids, attention_mask, token_type_ids (int64, batch x
                  pieces); one output per task, named after it (logits, scores, per-piece
                  tag logits, for ranking one score per (premise, candidate) row, for extractive
                  QA a start and an end logit per piece of each context window)
  tokenizer/      the encoder's tokenizer (tokenizer.json) and the reader's tokenizer for
                  pre-split words (word_tokenizer.json: for byte-level BPE, the same vocabulary
                  with a prefix space before each word, as `tokenization.load_tokenizer`
                  builds it for the reader)
  labels.json     per task: task_type, data_format, labels, max_length (and for extractive
                  QA the reader's windows and the head's decoding settings)

Python:
    from predict_onnx import OnnxPredictor
    predictor = OnnxPredictor("export_dir")
    predictor.predict([{"task": "rte", "premise": "...", "hypothesis": "..."}])

Command line (JSON lines in, JSON lines out, like `allennlp predict`):
    python export_dir/predict_onnx.py export_dir inputs.jsonl [--batch-size 32]
        [--providers CUDAExecutionProvider,CPUExecutionProvider]

--providers lists onnxruntime execution providers in order of preference (default: the CPU).
One that this onnxruntime build lacks (CUDAExecutionProvider needs the onnxruntime-gpu package
and a GPU) is dropped with a note on stderr; the CPU provider always stays last as the fallback.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from tokenizers import Tokenizer

try:  # a progress bar when tqdm is there; the predictor itself does not need it
    from tqdm import tqdm as progress_bar
except ImportError:  # pragma: no cover - depends on the environment

    def progress_bar(iterable, **kwargs):
        return iterable


# The score a ranking example's missing candidates get when examples with different numbers of
# candidates share a batch (the PyTorch model's value): no probability after the softmax.
MASKED_SCORE = -1e4
CPU_PROVIDER = "CPUExecutionProvider"


def choose_providers(requested: Optional[Sequence[str]], available: Sequence[str]) -> List[str]:
    """The execution providers to open the session with: `requested` (in order) that
    `available` has, then the CPU provider. Dropped ones are reported on stderr."""
    chosen = [name for name in (requested or []) if name in available and name != CPU_PROVIDER]
    missing = [name for name in (requested or []) if name not in available]
    if missing:
        print(
            f"predict_onnx: {', '.join(missing)} not available in this onnxruntime "
            f"(available: {', '.join(available)}); using {', '.join(chosen + [CPU_PROVIDER])}",
            file=sys.stderr,
        )
    return chosen + [CPU_PROVIDER]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _word_tags(word_logits: np.ndarray, transitions: Optional[Dict[str, List]]) -> List[int]:
    """Each word's tag index: the best path that the tag scheme's transitions allow (the
    model's constrained decoding, `SequenceLabelingHead`), or each word's best tag."""
    if transitions is None or len(word_logits) == 0:
        return [int(i) for i in word_logits.argmax(-1)]
    shifted = word_logits - word_logits.max(-1, keepdims=True)
    scores = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    allowed = np.array(transitions["allowed"])
    best = scores[0] + np.array(transitions["start"])
    back = []
    for word in scores[1:]:
        total = best[:, None] + allowed
        back.append(total.argmax(0))
        best = total.max(0) + word
    path = [int((best + np.array(transitions["end"])).argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


class OnnxPredictor:
    """Tokenizes like the training reader (longest-first truncation to each task's own
    max_length, the encoder's special tokens, the reader's word tokenizer for pre-split words),
    runs the graph, and decodes like `allennlp predict`."""

    def __init__(
        self,
        folder: str,
        threads: Optional[int] = None,
        providers: Optional[Sequence[str]] = None,
    ) -> None:
        root = Path(folder)
        self.meta: Dict[str, Any] = json.loads((root / "labels.json").read_text())
        self.tasks: Dict[str, Dict[str, Any]] = self.meta["tasks"]
        self.max_length: int = self.meta["max_length"]  # an export's first task's; see below
        texts = root / "tokenizer" / "tokenizer.json"
        # The reader's tokenizer for words, which export writes; an older export has none.
        words = root / "tokenizer" / "word_tokenizer.json"
        self._tokenizer_files = {"texts": texts, "words": words if words.is_file() else texts}
        self._tokenizers: Dict[Any, Tokenizer] = {}
        self.tokenizer = self.tokenizer_for(None)
        # Imported here, not at the top: allennlp imports every module of a plugin on each
        # command, and this one would put onnxruntime on the start-up path of all of them.
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(root / "model.onnx"),
            options,
            providers=choose_providers(providers, onnxruntime.get_available_providers()),
        )
        self.input_names = {each.name for each in self.session.get_inputs()}
        self.pad_id = int(self.meta.get("pad_token_id", 0))
        # Extractive QA cuts a context into overlapping windows, as the training reader does.
        self.window_tokenizer = Tokenizer.from_file(str(root / "tokenizer" / "tokenizer.json"))
        self.window_tokenizer.no_padding()

    def _task(self, example: Dict[str, Any]) -> str:
        task = example.get("task")
        if task is None and len(self.tasks) == 1:
            return next(iter(self.tasks))
        if task not in self.tasks:
            raise ValueError(f"unknown task {task!r}; this model's tasks: {sorted(self.tasks)}")
        return task

    def tokenizer_for(self, task: Optional[str], kind: str = "texts") -> Tokenizer:
        """The tokenizer of `kind` ("texts" or "words") cutting longest-first at the task's own
        max_length, as its reader does (export writes each task's; None: the export's first)."""
        spec = self.tasks.get(task, {}) if task is not None else {}
        max_length = int(spec.get("max_length", self.max_length))
        key = (kind, max_length)
        if key not in self._tokenizers:
            tokenizer = Tokenizer.from_file(str(self._tokenizer_files[kind]))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length, strategy="longest_first")
            self._tokenizers[key] = tokenizer
        return self._tokenizers[key]

    def encode(self, task: str, example: Dict[str, Any]):
        if self.tasks[task]["data_format"] == "sequence":
            words = self.tokenizer_for(task, "words")
            encoding = words.encode(example["words"], is_pretokenized=True)
        elif "hypothesis" in self.tasks[task]["inputs"]:
            encoding = self.tokenizer_for(task).encode(example["premise"], example["hypothesis"])
        else:
            encoding = self.tokenizer_for(task).encode(example["premise"])
        return encoding

    def batch_inputs(self, encodings: Sequence[Any]) -> Dict[str, np.ndarray]:
        width = max(len(each.ids) for each in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, each in enumerate(encodings):
            ids[row, : len(each.ids)] = each.ids
            mask[row, : len(each.ids)] = 1
            types[row, : len(each.ids)] = each.type_ids
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: value for name, value in inputs.items() if name in self.input_names}

    def raw_outputs(self, task: str, examples: Sequence[Dict[str, Any]]):
        """The graph's output for one task's examples: logits, scores or per-piece logits; for
        ranking, `(examples, candidates)` scores, padded with MASKED_SCORE like the model's."""
        special = OUTPUTS.get(self.tasks[task]["task_type"])
        if special is not None:
            return getattr(self, special)(task, examples)
        encodings = [self.encode(task, each) for each in examples]
        (output,) = self.session.run([task], self.batch_inputs(encodings))
        return output, encodings

    def _ranking_outputs(self, task: str, examples: Sequence[Dict[str, Any]]):
        tokenizer = self.tokenizer_for(task)
        groups = [
            [tokenizer.encode(each["premise"], text) for text in each["hypotheses"]]
            for each in examples
        ]
        pairs = [encoding for group in groups for encoding in group]
        (scores,) = self.session.run([task], self.batch_inputs(pairs))
        output = np.full((len(groups), max(map(len, groups))), MASKED_SCORE, dtype=np.float32)
        offset = 0
        for row, group in enumerate(groups):
            output[row, : len(group)] = scores[offset : offset + len(group)]
            offset += len(group)
        return output, groups

    def windows(self, task: str, example: Dict[str, Any]) -> List[Any]:
        """The reader's windows of a (question, context) pair: the question cut to
        max_query_length pieces, the context cut into max_length windows sharing doc_stride
        pieces."""
        spec = self.tasks[task]
        question, context = example["question"].strip(), example["context"]
        self.window_tokenizer.no_truncation()
        asked = self.window_tokenizer.encode(question, add_special_tokens=False)
        if len(asked.ids) > spec["max_query_length"]:
            question = question[: asked.offsets[spec["max_query_length"] - 1][1]]
        self.window_tokenizer.enable_truncation(
            spec["max_length"], stride=spec["doc_stride"], strategy="only_second"
        )
        encoding = self.window_tokenizer.encode(question, context)
        return [encoding] + list(encoding.overflowing)

    def _span_outputs(self, task: str, examples: Sequence[Dict[str, Any]]):
        """`(windows, pieces, 2)` start and end logits of every window of every example, with
        the positions an answer cannot take (question, special pieces, padding; not [CLS])
        masked as the model masks them, and the windows as (example index, encoding)."""
        windows = [
            (index, window)
            for index, example in enumerate(examples)
            for window in self.windows(task, example)
        ]
        (logits,) = self.session.run([task], self.batch_inputs([w for _, w in windows]))
        allowed = np.zeros(logits.shape[:2], dtype=bool)
        for row, (_, window) in enumerate(windows):
            allowed[row, : len(window.ids)] = [sequence == 1 for sequence in window.sequence_ids]
        allowed[:, 0] = True  # [CLS]: no answer in this window
        return np.where(allowed[..., None], logits, MASKED_SCORE), windows

    def _span_answers(self, task: str, examples: Sequence[Dict[str, Any]]) -> List[Dict]:
        """Each question's answer, decoded like the span head: the best start + end score over
        all windows (start <= end, at most max_answer_length pieces); with no_answer, "" when
        the lowest [CLS] score over the windows minus the threshold beats it."""
        spec = self.tasks[task]
        logits, windows = self._span_outputs(task, examples)
        best: List[Any] = [(-np.inf, "") for _ in examples]
        nulls: List[List[float]] = [[] for _ in examples]
        for row, (index, window) in enumerate(windows):
            in_context = np.array([sequence == 1 for sequence in window.sequence_ids])
            start, end = logits[row, : len(in_context), 0], logits[row, : len(in_context), 1]
            scores = start[:, None].astype(np.float64) + end[None, :]
            first, last = np.indices(scores.shape)
            valid = in_context[:, None] & in_context[None, :] & (last >= first)
            valid &= last - first < spec["max_answer_length"]
            nulls[index].append(float(start[0] + end[0]) - spec["null_score_threshold"])
            if valid.any():
                i, j = np.unravel_index(np.where(valid, scores, -np.inf).argmax(), scores.shape)
                if scores[i, j] > best[index][0]:
                    context = examples[index]["context"]
                    text = context[window.offsets[i][0] : window.offsets[j][1]]
                    best[index] = (float(scores[i, j]), text)
        results = []
        for index, example in enumerate(examples):
            score, text = best[index]
            if spec["no_answer"] and min(nulls[index]) > score:
                text = ""
            result = {"task": task, "answer": text}
            if "id" in example:
                result["id"] = example["id"]
            results.append(result)
        return results

    def predict(self, examples: List[Dict[str, Any]], batch_size: int = 32) -> List[Dict]:
        by_task: Dict[str, List[int]] = {}
        for position, example in enumerate(examples):
            by_task.setdefault(self._task(example), []).append(position)
        results: List[Dict[str, Any]] = [{} for _ in examples]
        for task, positions in by_task.items():
            starts = range(0, len(positions), batch_size)
            desc = f"{task}: {len(positions)} examples"
            for start in progress_bar(starts, desc=desc, unit=" batches", file=sys.stderr):
                chunk = positions[start : start + batch_size]
                predicted = self.predict_task(task, [examples[i] for i in chunk])
                for position, result in zip(chunk, predicted, strict=True):
                    results[position] = result
        return results

    def predict_task(self, task: str, examples: Sequence[Dict[str, Any]]) -> List[Dict]:
        """One task's examples, decoded by the task type (`DECODERS`, or a whole-batch
        decoding in `BATCH_DECODERS` for a type whose examples span several graph rows)."""
        kind = self.tasks[task]["task_type"]
        if kind in BATCH_DECODERS:
            return getattr(self, BATCH_DECODERS[kind])(task, examples)
        if kind not in DECODERS:
            raise ValueError(
                f"task {task!r} is of type {kind!r}, which this predict_onnx.py cannot "
                f"decode (it decodes {sorted({*DECODERS, *BATCH_DECODERS})}); use the "
                "predict_onnx.py of the export folder"
            )
        output, encodings = self.raw_outputs(task, examples)
        results = []
        for row, example in enumerate(examples):
            result: Dict[str, Any] = {"task": task}
            if "id" in example:
                result["id"] = example["id"]
            decoded = DECODERS[kind](self.tasks[task], example, output[row], encodings[row])
            result.update(decoded)
            results.append(result)
        return results


# --- decoding, by task type (the model's `TaskType.readable`, in numpy) -------------------------


def _decode_classification(spec: Dict, example: Dict, output: np.ndarray, encoding) -> Dict:
    probabilities = _softmax(output.astype(np.float64))
    return {
        "label": spec["labels"][int(probabilities.argmax())],
        "probabilities": dict(zip(spec["labels"], probabilities.tolist(), strict=True)),
    }


def _decode_regression(spec: Dict, example: Dict, output: np.ndarray, encoding) -> Dict:
    return {"score": float(output)}


def _decode_ranking(spec: Dict, example: Dict, output: np.ndarray, encoding) -> Dict:
    hypotheses = example["hypotheses"]
    probabilities = _softmax(output[: len(hypotheses)].astype(np.float64))
    best = int(probabilities.argmax())
    return {
        "label": best,
        "hypothesis": hypotheses[best],
        "scores": [round(float(p), 6) for p in probabilities],
    }


def _decode_tags(spec: Dict, example: Dict, output: np.ndarray, encoding) -> Dict:
    starts: Dict[int, int] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None and word not in starts:
            starts[word] = position
    kept = [starts[i] for i in range(len(example["words"])) if i in starts]
    best = _word_tags(output[kept].astype(np.float64), spec.get("transitions"))
    # Words cut off by truncation (at the end) are tagged O, as the model does.
    tags = [spec["labels"][i] for i in best] + ["O"] * (len(example["words"]) - len(kept))
    return {"words": example["words"], "tags": tags}


def _decode_multi_label(spec: Dict, example: Dict, output: np.ndarray, encoding) -> Dict:
    probabilities = 1.0 / (1.0 + np.exp(-output.astype(np.float64)))
    return {
        "labels": [
            name
            for name, p in zip(spec["labels"], probabilities, strict=True)
            if p >= spec["threshold"]
        ],
        "probabilities": dict(zip(spec["labels"], probabilities.tolist(), strict=True)),
    }


# One example's output (a row of the graph's) to its prediction, by task_type (labels.json).
DECODERS: Dict[str, Callable[[Dict, Dict, np.ndarray, Any], Dict]] = {
    "classification": _decode_classification,
    "regression": _decode_regression,
    "ranking": _decode_ranking,
    "sequence_labeling": _decode_tags,
    "multi_label_classification": _decode_multi_label,
}
# Task types whose graph rows are not one per example: the method that makes their rows.
OUTPUTS = {"ranking": "_ranking_outputs", "span_extraction": "_span_outputs"}
# Task types decoded a batch at a time (a question's windows are joined): the method.
BATCH_DECODERS = {"span_extraction": "_span_answers"}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="the export folder")
    parser.add_argument("input_file", help="JSON lines, one example each ('-' for stdin)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--providers",
        default=CPU_PROVIDER,
        help="comma-separated onnxruntime execution providers, preferred first, e.g. "
        "CUDAExecutionProvider,CPUExecutionProvider",
    )
    args = parser.parse_args(argv)
    handle = sys.stdin if args.input_file == "-" else open(args.input_file, encoding="utf-8")
    examples = [json.loads(line) for line in handle if line.strip()]
    providers = [name.strip() for name in args.providers.split(",") if name.strip()]
    predictor = OnnxPredictor(args.folder, providers=providers)
    for result in predictor.predict(examples, args.batch_size):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
