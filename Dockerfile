# stmtl on CPU: the quick start by default, the test suite with `docker run IMAGE python -m pytest -q`.
# Dockerfile.serve builds a slim image (no torch) that serves an exported model with ONNX Runtime.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# The working folder belongs to the user the container runs as: the quick start writes its run folder there
# (runs/quickstart), pytest its cache.
RUN useradd --create-home --uid 1000 stmtl && install -d -o stmtl -g stmtl /app
WORKDIR /app

# Dependencies first, at the versions the suite ran on (constraints.txt): this layer is rebuilt only when
# requirements.txt or constraints.txt changes. Where pip's index serves the CUDA
# build of torch (PyPI on Linux), take the CPU wheel from PyTorch's index:
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t stmtl .
ARG TORCH_INDEX_URL=""
COPY requirements.txt constraints.txt ./
RUN grep -v '^-e ' requirements.txt > /tmp/requirements.txt \
    && if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "$(grep '^torch==' /tmp/requirements.txt)"; fi \
    && pip install -r /tmp/requirements.txt -c constraints.txt \
    && rm /tmp/requirements.txt

COPY --chown=stmtl:stmtl . .
RUN pip install --no-deps -e .

USER 1000:1000
ENV HOME=/home/stmtl
CMD ["python", "examples/00_quickstart.py"]
