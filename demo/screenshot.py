# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Drives the demo in a real browser: starts `demo/app.py` on 127.0.0.1, opens it in headless Chromium (Debian's
package, through playwright), classifies a recording and saves a screenshot of the result.

    python demo/screenshot.py --audio clip.wav --transcript "I am so happy to see you today!" --output docs/demo.png

The browser tests (tests/test_demo.py) use the same helpers. Playwright's own browser download is not needed: the
system Chromium (`apt-get install chromium`, `/usr/bin/chromium`; or `$CMT_CHROMIUM`) is used.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


HERE = Path(__file__).resolve().parent

# Headless, no GPU, nothing fetched in the background (no network but the app's).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install Debian's Chromium (`apt-get install -y chromium`) and playwright (`pip install '.[test]'`), or point "
    "$CMT_CHROMIUM at a Chromium binary"
)


def find_chromium() -> str:
    """The Chromium binary: `$CMT_CHROMIUM`, else `chromium` on the PATH; `FileNotFoundError` saying what to install."""
    candidate = os.environ.get("CMT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not candidate or not os.access(candidate, os.X_OK):
        raise FileNotFoundError(f"No Chromium found ({candidate or 'chromium not on the PATH'}): {INSTALL_HINT}.")
    return candidate


def launch_browser(playwright):
    """Headless Chromium from the system, through a started `sync_playwright()`."""
    return playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def serve_app(
    model: str | os.PathLike, *, asr_model: str | None = None, host: str = "127.0.0.1", timeout: float = 180.0
) -> Iterator[str]:
    """
    Runs `python demo/app.py --model MODEL` (the command a user types) on a free port until the block ends; with
    `asr_model`, as `--asr_model` (else the app's default).

    Yields:
        `str`: the page's URL, once it answers.

    Raises:
        `RuntimeError`: when the app exits or does not answer within `timeout` seconds, with its output.
    """
    port = free_port(host)
    command = [sys.executable, str(HERE / "app.py"), "--model", os.fspath(model), "--host", host, "--port", str(port)]
    if asr_model is not None:
        command += ["--asr_model", asr_model]
    url = f"http://{host}:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-4000:]

        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"`{' '.join(command)}` exited with {process.returncode}:\n{output()}")
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"`{' '.join(command)}` did not answer at {url} in {timeout:.0f} s:\n{output()}"
                    )
                time.sleep(0.2)  # polling the server, not the page
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def open_demo(page, url: str) -> None:
    """Loads the demo and waits until its audio input is there."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#audio input[type=file]", state="attached")


def submit(page, audio: str | os.PathLike | None, transcript: str = "", timeline: bool = False) -> None:
    """Uploads `audio` (waiting until the component holds it), types `transcript`, ticks the timeline box if asked
    and presses Classify."""
    if audio is not None:
        page.set_input_files("#audio input[type=file]", os.fspath(audio))
        page.wait_for_selector('#audio button[aria-label="Clear"]')  # shown once the upload is the input's value
    page.fill("#transcript textarea", transcript)
    if timeline:
        page.check("#timeline-mode input[type=checkbox]")
    page.click("#submit")


def read_scores(page, num_labels: int) -> dict[str, float]:
    """`{label: score}` as the page's Label shows it (each bar is a `<meter>` holding the score)."""
    meters = page.locator("#scores meter")
    meters.nth(num_labels - 1).wait_for()
    return {
        meters.nth(i).get_attribute("aria-label"): float(meters.nth(i).get_attribute("value"))
        for i in range(meters.count())
    }


def read_error(page) -> str:
    """The text of the error message the page shows."""
    toast = page.locator('[data-testid="toast-text"]').first
    toast.wait_for()
    return toast.inner_text()


@dataclass
class ScreenshotArguments:
    audio: str = field(metadata={"help": "The recording to classify."})
    transcript: str = field(default="", metadata={"help": "What is said (empty: the app's ASR fallback)."})
    timeline: bool = field(default=False, metadata={"help": "Tick the long-recording timeline box."})
    output: str = field(default="docs/demo.png", metadata={"help": "Where the PNG goes."})
    model: str | None = field(default=None, metadata={"help": "CMT checkpoint; default: the app's (see app.py)."})
    asr_model: str | None = field(default=None, metadata={"help": "The app's --asr_model; default the app's."})
    width: int = field(default=1200, metadata={"help": "Browser window width in pixels."})


def main():
    from playwright.sync_api import sync_playwright
    from transformers import HfArgumentParser

    sys.path.insert(0, str(HERE))
    from app import resolve_model

    (args,) = HfArgumentParser(ScreenshotArguments).parse_args_into_dataclasses()
    model = resolve_model(args.model)
    with serve_app(model, asr_model=args.asr_model) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": args.width, "height": 700})
        open_demo(page, url)
        submit(page, args.audio, args.transcript, args.timeline)
        page.locator("#scores meter").first.wait_for()
        if args.timeline:
            page.locator("#timeline img").wait_for()
        # the outputs fade in: wait until no CSS transition or animation runs
        page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.output, full_page=True)
        browser.close()
    print(f"Screenshot of {model} on {args.audio} in {args.output}")


if __name__ == "__main__":
    main()
