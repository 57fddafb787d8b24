"""Knowledge distillation: teachers' soft targets, the student's reader, ONNX export.

docs/distillation.md describes the whole path; the pieces register when imported, which
`--include-package mtdnn_allennlp` does.
"""
