"""Load-test the Space: space/app.py served on a free 127.0.0.1 port, N concurrent gradio_client visitors.

    python scripts/benchmarks/space_load.py [--clients 1,5,20] [--requests 5] [--model FOLDER]
        [--timeout 120] [--out outputs/benchmarks/space_load.json]

Each client sends `--requests` requests in a row over the bundled examples and an upload of the example face in
every format the demo reads (.obj .ply .stl .off .glb .wrl .bnt), so no two neighbouring requests share a file.
Per N it reports ok and failed requests, median and 95th-percentile latency, requests per second (ok requests
over the phase's wall time) and the server's peak resident memory so far; the server log is scanned for
"Too little data for declared Content-Length" (a file rewritten while a client downloads it). Everything runs on
127.0.0.1 and every wait is bounded. The numbers depend on how busy the machine is: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import trimesh

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "affectvlm" / "assets" / "examples"
TRUNCATED_DOWNLOAD = "Too little data for declared Content-Length"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upload_files(folder: Path) -> list[Path]:
    """The bundled example faces plus the happiness example written in every other format the demo reads."""
    from affectvlm.io import write_obj, write_vrml
    from affectvlm.io.bnt import write_bnt_grid
    from affectvlm.synthetic.range_scan import mesh_to_grid
    from affectvlm.model.meshes_affectvlm import load_mesh

    examples = sorted(EXAMPLES.glob("*.ply"))
    face = load_mesh(EXAMPLES / "happiness.ply")
    mesh = trimesh.Trimesh(face.vertices, face.faces, process=False)
    written = []
    for suffix in ("stl", "off", "glb"):
        path = folder / f"upload.{suffix}"
        data = mesh.export(file_type=suffix)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        written.append(path)
    write_obj(folder / "upload.obj", face)
    write_vrml(folder / "upload.wrl", face)
    scaled = type(face)(face.vertices * 10, face.faces, source=face.source)  # centimetres -> a scanner's mm
    write_bnt_grid(folder / "upload.bnt", mesh_to_grid(scaled, 1.0, "upload.png")[0])
    written += [folder / "upload.obj", folder / "upload.wrl", folder / "upload.bnt"]
    return [path for pair in zip(examples, written + examples[len(written):]) for path in pair]


class Server:
    """space/app.py in a child process, its log in a file, its peak RSS read from /proc."""

    def __init__(self, model: str | None, workdir: Path, timeout: float):
        self.port = _free_port()
        self.log = workdir / "server.log"
        env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
               "GRADIO_TEMP_DIR": str(workdir / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
               "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        if model:
            env["AFFECTVLM_MODEL"] = model
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "space" / "app.py")], cwd=ROOT, env=env,
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        self._wait_until_listening(timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Space exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"the Space did not listen on port {self.port} within {timeout} s")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log_file.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_phase(server: Server, files: list[Path], clients: int, requests: int, timeout: float,
              downloads: Path) -> dict:
    """`clients` visitors at once, each `requests` requests in a row; latencies of the ok ones, errors counted."""
    from gradio_client import Client, handle_file

    # Plain HTTP on loopback, so no certificate store is needed: left to its default, httpx loads the system CA
    # bundle into a new TLS context for every request the client makes (7 per analysis, ~30 ms of CPU each),
    # and on a 2-core machine that client work is taken from the server being measured.
    visitors = [Client(server.url, verbose=False, download_files=str(downloads), ssl_verify=False)
                for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def visit(index: int) -> None:
        for request in range(requests):
            upload = files[(index * requests + request) % len(files)]
            started = time.perf_counter()
            try:
                job = visitors[index].submit(handle_file(str(upload)), "", api_name="/analyse")
                job.result(timeout=timeout)
                with lock:
                    latencies.append(time.perf_counter() - started)
            except Exception as error:  # every failure counts; the benchmark goes on with the next request
                with lock:
                    errors.append(f"{upload.name}: {type(error).__name__}: {str(error)[:200]}")

    started, server_cpu = time.perf_counter(), server.cpu_seconds()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(visit, range(clients)))
    wall = time.perf_counter() - started
    for visitor in visitors:
        visitor.close()
    return {
        "ok": len(latencies), "errors": len(errors),
        "median_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
        "requests_per_s": round(len(latencies) / wall, 3),
        "wall_s": round(wall, 2),
        "server_peak_rss_mb": server.peak_rss_mb(),
        "server_cpu_s_per_request": round((server.cpu_seconds() - server_cpu) / max(len(latencies), 1), 3),
        "error_samples": errors[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,5,20", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--requests", type=int, default=5, help="requests per client (default: 5)")
    parser.add_argument("--model", help="model folder for the Space (default: the Space's own choice)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds any one wait may take")
    parser.add_argument("--out", default="outputs/benchmarks/space_load.json", help="where to write the JSON")
    args = parser.parse_args()

    results: dict = {"clients": {}, "requests_per_client": args.requests, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="space-load-") as workdir:
        workdir = Path(workdir)
        files = upload_files(workdir)
        server = Server(args.model, workdir, args.timeout)
        try:
            run_phase(server, files[:1], 1, 1, args.timeout, workdir / "downloads")  # warm-up, not reported
            for clients in (int(value) for value in args.clients.split(",")):
                results["clients"][str(clients)] = run_phase(server, files, clients, args.requests, args.timeout,
                                                             workdir / "downloads")
                print(clients, json.dumps(results["clients"][str(clients)]), flush=True)
        finally:
            server.close()
        results["truncated_downloads_in_server_log"] = server.log.read_text().count(TRUNCATED_DOWNLOAD)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
