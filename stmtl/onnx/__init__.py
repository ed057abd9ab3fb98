"""The model as ONNX graphs: export (:mod:`~stmtl.onnx.export`, needs torch), int8 quantization
(:mod:`~stmtl.onnx.quantize`) and a runner that needs no torch (:mod:`~stmtl.onnx.runner`).

A model folder carries its graphs in ``onnx/`` (:mod:`~stmtl.onnx.layout`), so one folder serves PyTorch and
ONNX Runtime alike: ``stmtl.load(folder, backend="onnx")`` (fp32) or ``backend="onnx-int8"``.
"""
