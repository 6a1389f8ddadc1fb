FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md container.py ./
COPY requirements requirements
COPY domain domain
COPY application application
COPY adapters adapters
COPY entrypoints entrypoints
RUN pip install --no-cache-dir -c requirements/runtime.lock . && useradd --create-home payport
USER payport
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/live').status != 200)"
CMD ["payport", "serve", "--host", "0.0.0.0", "--port", "8080"]
