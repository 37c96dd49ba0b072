# almeval on a CUDA host. Not buildable in the development sandbox (no Docker engine there): kept
# correct by reading. Build: docker build -t almeval .   Run: docker run --gpus all -v $PWD:/w almeval eval ...
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS almeval

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    ALMEVAL_CACHE_DIR=/cache HF_HOME=/cache/hf
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv libsndfile1 flite \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, pinned to the same version as the Makefile (tests/test_layout.py checks they agree): PyPI's
# Linux wheel is the CUDA build and brings its own CUDA libraries; the transformers that resolves next
# supports it (transformers 5 needs torch >= 2.6). Pinned first, so no extra can pull another build.
ARG TORCH=2.13.0
RUN pip install -U pip && pip install torch==${TORCH}

WORKDIR /src
COPY pyproject.toml README.md cli.py ./
COPY almeval ./almeval
COPY adapters ./adapters
COPY judges ./judges
COPY cache ./cache
# Everything a GPU user needs: transformers models, the offline ASR baseline, `data prepare`, the ifeval recipe.
RUN pip install ".[hf,sphinx,prepare,ifeval,faster-whisper,kimi,vlm]" && pip install --no-deps openai-whisper==20250625 evals==3.0.1.post1 ms-vlmeval==0.0.20

VOLUME ["/cache", "/w"]
WORKDIR /w
ENTRYPOINT ["almeval"]
CMD ["--help"]

# vLLM in process (`--model vllm:…`): docker build --target vllm -t almeval-vllm .
# vLLM pins the torch build it was compiled against, so this image lets it replace the pinned one above.
FROM almeval AS vllm
RUN pip install "/src[vllm]"

# the default image (no --target): the one without vLLM
FROM almeval
