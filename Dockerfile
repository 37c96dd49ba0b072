# almeval on a CUDA host. Not buildable in the development sandbox (no Docker engine there): kept
# correct by reading. Build: docker build -t almeval .   Run: docker run --gpus all -v $PWD:/w almeval eval ...
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    ALMEVAL_CACHE_DIR=/cache HF_HOME=/cache/hf
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv libsndfile1 flite \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, from the CUDA 12.4 index, so the extras below never resolve a different build.
RUN pip install -U pip && pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124

WORKDIR /src
COPY pyproject.toml README.md cli.py ./
COPY almeval ./almeval
COPY adapters ./adapters
COPY judges ./judges
COPY cache ./cache
RUN pip install ".[hf,sphinx]"

VOLUME ["/cache", "/w"]
WORKDIR /w
ENTRYPOINT ["almeval"]
CMD ["--help"]
