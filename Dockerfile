# First version: the CPU profile (llama.cpp + SmolLM2) in one container.
# GPU profiles (vLLM) come with their own issue; they will start from vLLM's CUDA image.
#
#   docker build -t vllm-chat .
#   docker run -p 8080:8080 -e JWT_SECRET=$(openssl rand -hex 32) \
#       -e ADMIN_PASSWORD=choose-one -e DEMO_ACCOUNTS=false -v vllm-chat-data:/data vllm-chat
FROM python:3.11-slim

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
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"
CMD ["./start", "--foreground"]
