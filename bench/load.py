"""The benchmark's own load generator for flows with forms (`python -m bench.load KIND JSON`): each client
is a thread with its own connection and cookie jar that walks the pages as a browser does (GET the form,
POST it with its CSRF token, follow the 303). Started by `bench.run` as a separate process; prints one
JSON line with the latency of every request (ms) and what came of each flow.

Only the standard library: the app's dependencies are all this needs.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

LINK_DAY = re.compile(r'href="(/book/day/\d+)"')
LINK_SLOT = re.compile(r'href="(/book/slot/\d+)"')
LINK_CATEGORY = re.compile(r'href="(/book/slot/\d+/[a-z_]+)"')
TICKET_CODE = re.compile(r'class="ticket-code">\s*([0-9A-Z]+)\s*<')
SURNAMES = "王李张刘陈杨赵黄周吴"
# Each run its own people: a kept database (BENCH_DATABASE_URL) still holds the last run's bookings, and
# the same mobiles again would be told "you already have a booking that day".
RUN = secrets.randbits(32)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超"


class FormFields(HTMLParser):
    """The fields of the first POST form on a page: hidden and text inputs with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect inputs inside the first form posted."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and a.get("method", "").lower() == "post":
            self._in_form = True
        elif self._in_form and tag == "input" and a.get("name"):
            if a.get("type", "text") in ("checkbox", "radio", "submit", "button"):
                return
            self.fields.setdefault(a["name"], a.get("value", ""))
        elif self._in_form and tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.fields.setdefault(a["name"], "")

    def handle_endtag(self, tag: str) -> None:
        """Stop at the end of the first form."""
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        """A textarea's text is its value."""
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(page: str) -> dict[str, str]:
    """The fields (name → value) of the first POST form in a page."""
    parser = FormFields()
    parser.feed(page)
    return parser.fields


@dataclass
class Client:
    """One browser: a keep-alive connection, its cookies, and the latency of each request it made."""

    base: str
    latencies: list[float] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    record: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """One request; returns the status, the Location header and the body (redirects not followed)."""
        headers = {"Accept-Language": "zh-CN"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        if self.record:
            self.latencies.append((time.perf_counter() - started) * 1000)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val:
                    self.cookies[key.strip()] = val.strip()
                else:
                    self.cookies.pop(key.strip(), None)
        location = response.getheader("Location") or ""
        return (
            response.status,
            urlsplit(location).path + (f"?{urlsplit(location).query}" if urlsplit(location).query else ""),
            text,
        )


def armed_post(client: Client, path: str, form: dict[str, str]) -> tuple[socket.socket, bytes]:
    """A new connection to the app, and the bytes of a POST made ready to send on it (for the rush)."""
    body = urlencode(form).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nAccept-Language: zh-CN\r\n"
        f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return socket.create_connection((client.host, client.port), timeout=120), head.encode() + body


def answer_of(sock: socket.socket) -> tuple[int, str]:
    """Wait for the answer on a connection; its status and Location path (the connection is closed)."""
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        location = urlsplit(response.getheader("Location") or "")
        return response.status, location.path + (f"?{location.query}" if location.query else "")
    finally:
        sock.close()


def mobile_for(rng: random.Random) -> str:
    """A mobile number nobody else in the run has (almost surely): 11 digits starting 13–19."""
    return f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}"


def name_for(rng: random.Random) -> str:
    """A plausible two- or three-character name."""
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def book_until_confirm(
    client: Client, slot_path: str, rng: random.Random
) -> tuple[dict[str, str], str] | None:
    """Walk a slot's steps up to the confirm page; returns the confirm form's fields and the mobile."""
    status, _, page = client.request("GET", slot_path)
    categories = LINK_CATEGORY.findall(page)
    if status != 200 or not categories:
        return None
    status, _, page = client.request("GET", rng.choice(categories))
    if status != 200:
        return None
    fields = form_fields(page)
    mobile = mobile_for(rng)
    fields.update(name=name_for(rng), mobile=mobile, submit="1")
    for step, extra in (("details", {}), ("about", {"description": ""}), ("consent", {"consent": "y"})):
        fields.update(step=step, **extra)
        status, location, _ = client.request("POST", "/book/visit", fields)
        if status not in (302, 303) or "/book/visit" not in location:
            return None
        status, _, page = client.request("GET", location)
        if status != 200:
            return None
        fields = {**form_fields(page), "submit": "1"}
        if step == "consent" or "consent" in extra:
            fields["consent"] = "y"
    return fields, mobile


def confirm(client: Client, fields: dict[str, str]) -> tuple[str, str | None]:
    """Send the confirm page; returns what came of it (booked, full, limited, other) and the code."""
    status, location, _ = client.request("POST", "/book/visit", fields)
    if status in (302, 303) and location.startswith("/book/ticket"):
        status, _, page = client.request("GET", "/book/ticket")
        found = TICKET_CODE.search(page)
        return "booked", found.group(1) if found else None
    if status in (302, 303) and "full=1" in location:
        return "full", None
    if status == 429:
        return "limited", None
    return f"other:{status}", None


def booking_client(base: str, stations: list[int], deadline: float, seed: int, out: dict[str, Any]) -> None:
    """Complete bookings one after another until the deadline, at days and times with places left; a
    station whose days are all taken sends the client on to the next one."""
    rng = random.Random(f"{RUN}-{seed}")
    client = Client(base)
    booked: list[tuple[str, str]] = []
    outcomes: dict[str, int] = {}
    at, full_stations = seed, 0
    while time.perf_counter() < deadline:
        client.cookies.clear()
        _, _, page = client.request("GET", f"/book/days?station={stations[at % len(stations)]}")
        days = LINK_DAY.findall(page)
        if not days:
            outcomes["no_day"] = outcomes.get("no_day", 0) + 1
            at, full_stations = at + 1, full_stations + 1
            if full_stations >= len(stations):
                break
            continue
        _, _, page = client.request("GET", rng.choice(days))
        slots = sorted(set(LINK_SLOT.findall(page)))
        if not slots:
            continue
        ready = book_until_confirm(client, rng.choice(slots), rng)
        if ready is None:
            outcomes["step_failed"] = outcomes.get("step_failed", 0) + 1
            continue
        outcome, code = confirm(client, ready[0])
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if code:
            booked.append((code, ready[1]))
    with LOCK:
        out["latencies"].extend(client.latencies)
        out["booked"].extend(booked)
        for key, n in outcomes.items():
            out["outcomes"][key] = out["outcomes"].get(key, 0) + n


def lookup_client(
    base: str, bookings: list[list[str]], deadline: float, seed: int, out: dict[str, Any]
) -> None:
    """Look bookings up by code and last four digits until the deadline (GET the form, POST it)."""
    rng = random.Random(f"{RUN}-{seed}")
    client = Client(base)
    outcomes: dict[str, int] = {}
    while time.perf_counter() < deadline:
        code, mobile = rng.choice(bookings)
        client.cookies.clear()
        _, _, page = client.request("GET", "/booking/lookup")
        fields = {**form_fields(page), "code": code, "last4": mobile[-4:], "submit": "1"}
        status, location, _ = client.request("POST", "/booking/lookup", fields)
        key = "found" if status in (302, 303) and location.startswith("/booking/mine") else f"other:{status}"
        outcomes[key] = outcomes.get(key, 0) + 1
    with LOCK:
        out["latencies"].extend(client.latencies)
        for key, n in outcomes.items():
            out["outcomes"][key] = out["outcomes"].get(key, 0) + n


def rush(args: dict[str, Any]) -> dict[str, Any]:
    """`clients` people reach the confirm page of the same new day, then all confirm at once.

    At the start the load generator must cost the server nothing: 500 threads woken at once, each
    building its request and connecting, held back the two workers they measure for a quarter of a
    second in one Python process on the same two cores. So each client, once everybody is on the confirm
    page, opens its connection and hands over its request's bytes, then waits for the answer; one thread
    sends them all, in a shuffled order, one right after another (a few milliseconds for 500)."""
    base, clients, slot_ids = args["base"], int(args["clients"]), args["slot_ids"]
    connect = threading.Barrier(clients)
    armed: list[tuple[int, socket.socket, bytes]] = []
    all_armed = threading.Semaphore(0)
    sent_at = [0.0] * clients
    results: list[tuple[str, float, float]] = []
    prepared = threading.Semaphore(int(args.get("prepare_at_once", 16)))
    failures: list[str] = []

    def one(i: int) -> None:
        rng = random.Random(f"{RUN}-rush-{i}")
        client = Client(args["bases"][i % len(args["bases"])] if args.get("bases") else base, record=False)
        with prepared:
            ready = None
            try:
                slot = f"/book/slot/{slot_ids[i % len(slot_ids)]}?station={args['station']}"
                ready = book_until_confirm(client, slot, rng)
            except Exception:  # a client that cannot get ready still joins the start
                ready = None
            if ready is None:
                failures.append("prepare")
        # Connections are opened only once everybody is ready: a sync worker that accepts one waits
        # for its request, and must not wait for the slowest client's preparation.
        connect.wait()
        if ready is None:
            all_armed.release()
            return
        try:
            sock, data = armed_post(client, "/book/visit", ready[0])
        except OSError:
            failures.append("connect")
            all_armed.release()
            return
        with LOCK:
            armed.append((i, sock, data))
        all_armed.release()
        status, location = answer_of(sock)
        ended = time.perf_counter()
        if status in (302, 303) and location.startswith("/book/ticket"):
            outcome = "booked"
        elif status in (302, 303) and "full=1" in location:
            outcome = "full"
        else:
            outcome = f"other:{status}"
        with LOCK:
            results.append((outcome, sent_at[i], ended))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for _ in range(clients):
        all_armed.acquire()
    random.Random(RUN).shuffle(armed)
    released = time.perf_counter()  # go
    for i, sock, data in armed:
        sent_at[i] = time.perf_counter()
        sock.sendall(data)
    for thread in threads:
        thread.join()
    booked = [r for r in results if r[0] == "booked"]
    outcomes: dict[str, int] = {}
    for outcome, _, _ in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    span = max((r[2] for r in booked), default=released) - released
    return {
        "latencies": [(r[2] - r[1]) * 1000 for r in results],
        "outcomes": outcomes,
        "prepare_failed": len(failures),
        "booked": len(booked),
        "seconds": span,
        "all_seconds": max((r[2] for r in results), default=released) - released,
    }


LOCK = threading.Lock()


def run_clients(target: Any, args: dict[str, Any], extra: tuple) -> dict[str, Any]:
    """Start the clients, let them work for the given seconds, and gather what they measured."""
    out: dict[str, Any] = {"latencies": [], "booked": [], "outcomes": {}}
    bases = args.get("bases") or [args["base"]]
    started = time.perf_counter()
    deadline = started + float(args["seconds"])
    threads = [
        threading.Thread(target=target, args=(bases[i % len(bases)], *extra, deadline, i, out), daemon=True)
        for i in range(int(args["clients"]))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["seconds"] = time.perf_counter() - started
    return out


def main(argv: list[str]) -> None:
    """`python -m bench.load booking|lookup|rush JSON`: run one load and print its JSON line."""
    kind, args = argv[1], json.loads(argv[2])
    if kind == "booking":
        result = run_clients(booking_client, args, ([int(s) for s in args["stations"]],))
    elif kind == "lookup":
        result = run_clients(lookup_client, args, (args["bookings"],))
    else:
        result = rush(args)
    print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
