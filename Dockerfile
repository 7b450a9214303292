# The CPU image: the app with its llama.cpp engine and the SmolLM2 model, running as a user
# without privileges. The GPU image (vLLM) is Dockerfile.gpu.
#
#   docker build -t vllm-chat .
#   docker run -p 8080:8080 -e JWT_SECRET=$(openssl rand -hex 32) \
#       -e ADMIN_PASSWORD=choose-one -e DEMO_ACCOUNTS=false -v vllm-chat-data:/data vllm-chat
FROM python:3.11-slim

# Compilers for llama.cpp only; versions float with the Debian release the base image pins
# (.hadolint.yaml says why DL3008 is off).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt constraints.txt ./
COPY scripts/common.sh scripts/
# The same install as ./start: llama.cpp built for a portable x86-64 baseline (no AMX, no
# -march=native), so the image runs on any x86-64 host with AVX2, whatever CPU built it.
RUN VLLM_CHAT_SYSTEM_PYTHON=1 bash -c '. scripts/common.sh && install_requirements requirements.txt' \
    && rm -rf .cache /root/.cache/pip

COPY . .
ENV DATA_DIR=/data GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8080 VLLM_CHAT_SYSTEM_PYTHON=1 \
    MODEL_DIR=/opt/models
# Fetch the model at build time so the container starts without the network: that of the
# profile the app starts by default, chosen by the app's own code (services.py).
RUN python -m services
# The app runs as this user: it owns only its data directory; the code and the model are
# read-only to it.
RUN groupadd --system --gid 10001 vllmchat \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/vllmchat vllmchat \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"]
CMD ["./start", "--foreground"]
