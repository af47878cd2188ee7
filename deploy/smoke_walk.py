"""The smoke's walk through the production shape: a browser-like client over https, through nginx.

Run by deploy/smoke (`python deploy/smoke_walk.py <step>`), standard library only:

- `walk`: sign up (the confirmation link read from the captured mail), create a couple with two
  partners, a personal link shown for one and emailed (a job) to the other, the partner's
  portal, a check-in autosaved and read back, a partner's sign-in link and a therapist's
  password reset by email, a summary PDF made by the reports worker and downloaded, /readyz.
  Every token it met is written to the tokens file, one a line, for the logs to be searched.
- `login`: the therapist signs in (the password the walk set) and opens the dashboard.
- `logger`: gunicorn's access-log atoms of deploy/gunicorn.conf.py hold no token.

Settings come from the environment: SMOKE_BASE (https://127.0.0.1:<port>), SMOKE_CA (the
self-signed certificate, verified), SMOKE_MAILDIR (aiosmtpd's Maildir), SMOKE_STATE (a JSON
file the steps share), SMOKE_TOKENS (the tokens file).
"""

from __future__ import annotations

import http.cookiejar
import json
import mailbox
import os
import re
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

BASE = os.environ.get("SMOKE_BASE", "https://127.0.0.1:8443").rstrip("/")
TOKEN_PATH = re.compile(
    r"/(?:p|s|invitation|password/reset|signup/confirm)/([A-Za-z0-9_\-.=~%]+)|"
    r"/calendar/([A-Za-z0-9_\-.=~%]+)\.ics"
)


class SmokeFailure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def say(message: str) -> None:
    print(f"  walk: {message}", flush=True)


# --- HTML forms --------------------------------------------------------------------------------


class Forms(HTMLParser):
    """Every form of a page: its action, method and the values a browser would send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {key: (value or "") for key, value in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action", ""),
                    "method": a.get("method", "get"),
                    "fields": [],
                    "names": set(),
                }
            )
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if a.get("name"):
            self.forms[-1]["names"].add(a["name"])
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "image", "file"):
                return
            fields.append([a["name"], a.get("value", "on" if kind == "checkbox" else "")])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            fields.append([a["name"], None])  # the first option, unless one is selected
        elif tag == "option" and self._select is not None:
            field = next(f for f in reversed(fields) if f[0] == self._select)
            if field[1] is None or "selected" in a:
                field[1] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            fields.append([a["name"], ""])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None and self.forms:
            field = next(f for f in reversed(self.forms[-1]["fields"]) if f[0] == self._textarea)
            field[1] += data


def find_form(html: str, action_part: str = "", has_field: str = "") -> dict:
    parser = Forms()
    parser.feed(html)
    for form in parser.forms:
        if action_part in form["action"] and (not has_field or has_field in form["names"]):
            return form
    raise SmokeFailure(f"no form (action ~ {action_part!r}, field {has_field!r}) on the page")


# --- The client --------------------------------------------------------------------------------


class Browser:
    """Cookies, redirects, https verified against the smoke's own certificate."""

    def __init__(self, saved: str = "") -> None:
        context = ssl.create_default_context(cafile=os.environ.get("SMOKE_CA") or None)
        self.jar = http.cookiejar.MozillaCookieJar()
        if saved:
            self.jar.load(saved, ignore_discard=True, ignore_expires=True)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(self.jar),
        )
        self.url = BASE
        self.policy = ""

    def referer(self, page: str) -> dict[str, str]:
        """The Referer a browser sends with a form posted from `page` (same origin), as the
        page's Referrer-Policy says. SMOKE_REFERER=always sends it whatever the policy."""
        if self.policy == "no-referrer" and os.environ.get("SMOKE_REFERER") != "always":
            return {}
        if self.policy == "origin":
            return {"Referer": BASE + "/"}
        return {"Referer": page}

    def save(self, path: str) -> None:
        self.jar.save(path, ignore_discard=True, ignore_expires=True)

    def request(self, method: str, url: str, data=None, headers=None):
        url = urllib.parse.urljoin(self.url + "/", url)
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
        check(url.startswith(BASE + "/"), f"not our site: {redact(url)}")
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as response:
                self.url = response.geturl()
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            self.url = error.geturl() or url
            return error.code, error.read(), error.headers

    def get(self, url: str, expect: int | None = 200) -> str:
        status, body, headers = self.request("GET", url)
        self.policy = (headers.get("Referrer-Policy") or "").split(",")[-1].strip().lower()
        check(expect is None or status == expect, f"GET {redact(url)}: {status}, not {expect}")
        return body.decode("utf-8", "replace")

    def submit(self, page_url: str, action_part="", has_field="", expect=200, **values) -> str:
        """Open a page, fill its form (CSRF token included, as scraped) and send it."""
        html = self.get(page_url)
        page = self.url
        form = find_form(html, action_part, has_field)
        fields = [(n, v or "") for n, v in form["fields"] if n not in values]
        fields += [(name, value) for name, value in values.items() if value is not None]
        status, body, _ = self.request(
            form["method"].upper(),
            urllib.parse.urljoin(page, form["action"] or page),
            fields,
            headers=self.referer(page),
        )
        text = body.decode("utf-8", "replace")
        check(
            expect is None or status == expect,
            f"POST {redact(form['action'] or page)}: {status}, not {expect}\n{text[:600]}",
        )
        return text


def redact(url: str) -> str:
    """For the smoke's own messages: never print a token either."""
    return TOKEN_PATH.sub(lambda m: m[0].rsplit("/", 1)[0] + "/<token>", url)


# --- Mail -----------------------------------------------------------------------------------------


def wait_for_mail(to: str, subject_part: str, *, after: set[str], seconds: float = 45) -> str:
    """The text of the first new message to `to` whose subject has `subject_part`."""
    box = mailbox.Maildir(os.environ["SMOKE_MAILDIR"], factory=None, create=False)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key in sorted(box.keys()):
            if key in after:
                continue
            with box.get_file(key) as handle:
                message = BytesParser(policy=policy.default).parse(handle)
            if message["To"] == to and subject_part in str(message["Subject"]):
                after.add(key)
                return message.get_body(("plain",)).get_content()
        time.sleep(0.2)
    raise SmokeFailure(f"no email to {to} about {subject_part!r} within {seconds:.0f} s")


def link_in(text: str, path: str) -> str:
    found = re.search(re.escape(BASE) + re.escape(path) + r"[^\s>\"']+", text)
    check(found is not None, f"no {BASE}{path}… link in the email")
    return found[0]


# --- Steps ----------------------------------------------------------------------------------------


def load_state() -> dict:
    path = Path(os.environ["SMOKE_STATE"])
    return json.loads(path.read_text()) if path.exists() else {}


def save_state(state: dict) -> None:
    Path(os.environ["SMOKE_STATE"]).write_text(json.dumps(state))


class Tokens:
    def __init__(self) -> None:
        self.path = Path(os.environ["SMOKE_TOKENS"])

    def add(self, url: str) -> None:
        found = TOKEN_PATH.search(url)
        check(found is not None, f"no token in {redact(url)}")
        with self.path.open("a") as handle:
            handle.write((found[1] or found[2]) + "\n")


def walk() -> None:
    tokens, seen = Tokens(), set()
    email = f"owner-{secrets.token_hex(4)}@smoke.example.com"
    password = "smoke " + secrets.token_urlsafe(12)
    therapist = Browser()

    # Sign-up: the address first, then the practice from the emailed link.
    therapist.submit("/signup", "", "email", email=email)
    confirm = link_in(wait_for_mail(email, "Confirm your email", after=seen), "/signup/confirm/")
    tokens.add(confirm)
    html = therapist.submit(
        confirm,
        has_field="practice_name",
        practice_name="Smoke Practice",
        name="Smoke Owner",
        password=password,
        time_zone="UTC",
    )
    check("Your practice is ready" in html, "sign-up did not land on the dashboard")
    say(f"signed up through the emailed link; dashboard at {therapist.url}")

    # A couple with two partners; the second one has an address for emails.
    partner_email = f"partner-{secrets.token_hex(4)}@smoke.example.com"
    html = therapist.submit(
        "/couples/new",
        has_field="label",
        label="Smoke couple",
        **{
            "partner1-display_name": "Alex",
            "partner2-display_name": "Sam",
            "partner2-email": partner_email,
        },
    )
    couple = re.search(r"/couples/(\d+)", therapist.url)
    check(couple is not None, f"creating the couple did not open its page ({therapist.url})")
    couple_url = f"/couples/{couple[1]}"
    partners = sorted(set(re.findall(couple_url + r"/partners/(\d+)/invite\"", html)), key=int)
    check(len(partners) == 2, f"the couple page shows {len(partners)} invite forms, not 2")
    say(f"couple created with two partners ({couple_url})")

    # A personal link shown once for the first partner, emailed by a job for the second.
    html = therapist.submit(couple_url, f"/partners/{partners[0]}/invite")
    shown = re.search(r'id="invite-link"[^>]*value="([^"]+)"', html)
    check(shown is not None, "the personal link is not on the page")
    link = shown[1]
    tokens.add(link)
    therapist.submit(couple_url, f"/partners/{partners[1]}/invite", email_it="y")
    emailed = link_in(wait_for_mail(partner_email, "", after=seen), "/p/")
    tokens.add(emailed)
    say("personal link shown for one partner, emailed to the other by the default worker")

    # The partner's portal: the welcome page, Continue, the privacy notice, the check-in.
    partner = Browser()
    check("Continue" in partner.get(link), "the welcome page has no Continue")
    partner.submit(link, "", "csrf_token", expect=200)
    if partner.url.endswith("/portal/privacy"):
        partner.submit("/portal/privacy", "", "understood", understood="y")
    check(partner.url.rstrip("/").endswith("/portal"), f"the portal did not open ({partner.url})")
    html = partner.get("/portal/checkin")
    form = find_form(html, "", "version")
    fields = dict((n, v or "") for n, v in form["fields"])
    words = f"Smoke check-in {secrets.token_hex(6)}: we talked for an hour."
    status, body, _ = partner.request(
        "POST",
        "/portal/checkin/autosave",
        {"csrf_token": fields["csrf_token"], "version": fields["version"], "checkin-facts": words},
        headers={"X-CSRFToken": fields["csrf_token"], **partner.referer(partner.url)},
    )
    check(status == 200, f"autosave answered {status}: {body[:300]!r}")
    stored = json.loads(body)["stored"]
    check(stored.get("checkin-facts") == words, "autosave's answer does not echo the words")
    check(words in partner.get("/portal/checkin"), "the autosaved words are not on the page")
    say("partner signed in with the link, autosaved a check-in and read it back")

    # A sign-in link by email, asked for from the portal's "email me a link" form.
    other = Browser()
    other.get(emailed)
    other.submit(emailed, "", "csrf_token")  # Sam's emailed link opens Sam's portal
    other.submit("/portal", "/portal/sign-out", "csrf_token")
    other.submit("/portal/signed-out", "/portal/new-link", "email", email=partner_email)
    sign_in = link_in(wait_for_mail(partner_email, "", after=seen), "/s/")
    tokens.add(sign_in)
    other.submit(sign_in, "", "csrf_token")
    check("/portal" in other.url, f"the sign-in link did not open the portal ({other.url})")
    say("partner asked for a sign-in link by email and used it")

    # A password reset by email (a job on the default queue), used.
    stranger = Browser()
    stranger.submit("/password/forgot", "", "email", email=email)
    reset = link_in(wait_for_mail(email, "", after=seen), "/password/reset/")
    tokens.add(reset)
    password = "smoke " + secrets.token_urlsafe(12)
    stranger.submit(reset, "", "password", password=password, confirm=password)
    check("/login" in stranger.url, f"the reset did not lead to the sign-in ({stranger.url})")
    say("password reset emailed by the default worker and used")

    # Sign in again with it, and ask for a summary PDF (the reports worker).
    therapist = Browser()
    therapist.submit("/login", "", "password", email=email, password=password)
    check("/dashboard" in therapist.url or therapist.url.endswith("/"), "sign-in failed")
    therapist.submit(f"/reports{couple_url}/prepare", "/prepare", "audience", audience="therapist")
    report = re.search(r"/reports/(\d+)$", therapist.url)
    check(report is not None, f"asking for a summary did not open it ({therapist.url})")
    started, state = time.monotonic(), {}
    while time.monotonic() - started < 60:
        state = json.loads(therapist.get(f"/reports/{report[1]}/status"))
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.3)
    check(state.get("state") == "done", f"the summary's status: {state}")
    status, pdf, headers = therapist.request("GET", state["download"])
    check(status == 200 and pdf.startswith(b"%PDF"), f"the download: {status} {pdf[:8]!r}")
    say(
        f"summary PDF made by the reports worker in {time.monotonic() - started:.1f} s, "
        f"downloaded ({len(pdf)} bytes)"
    )

    status, body, _ = therapist.request("GET", "/readyz")
    check(status == 200, f"/readyz: {status} {body[:200]!r}")
    say(f"/readyz 200: {body.decode().strip()}")
    therapist.save(cookies_file())
    save_state({"email": email, "password": password, "couple": couple_url})


def cookies_file() -> str:
    return str(Path(os.environ["SMOKE_STATE"]).with_suffix(".cookies"))


def prepare() -> None:
    """Ask for a therapist's summary of the couple (signed in as the walk left it): its id."""
    therapist = Browser(cookies_file())
    couple_url = load_state()["couple"]
    therapist.submit(f"/reports{couple_url}/prepare", "/prepare", "audience", audience="couple")
    report = re.search(r"/reports/(\d+)$", therapist.url)
    check(report is not None, f"asking for a summary did not open it ({therapist.url})")
    print(report[1])


def report_done(report_id: str) -> None:
    """The summary is made (by whichever worker) and downloads as a PDF."""
    therapist = Browser(cookies_file())
    started, state = time.monotonic(), {}
    while time.monotonic() - started < 45:
        state = json.loads(therapist.get(f"/reports/{report_id}/status"))
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.3)
    check(state.get("state") == "done", f"the summary's status: {state}")
    status, pdf, _ = therapist.request("GET", state["download"])
    check(status == 200 and pdf.startswith(b"%PDF"), f"the download: {status} {pdf[:8]!r}")
    say(f"summary {report_id}: done after {state['attempts']} attempt(s), {len(pdf)} bytes of PDF")


def login() -> None:
    state = load_state()
    therapist = Browser()
    html = therapist.submit(
        "/login", "", "password", email=state["email"], password=state["password"]
    )
    check("/dashboard" in therapist.url or therapist.url.endswith("/"), "sign-in failed")
    check("Sign out" in html or "logout" in html, "the dashboard is not shown after sign-in")
    status, body, _ = therapist.request("GET", "/readyz")
    say(f"signed in, dashboard 200; /readyz {status}: {body.decode().strip()}")
    check(status == 200, "/readyz is not 200")


def logger() -> None:
    """The access-log atoms of the gunicorn config, for requests full of tokens."""
    import importlib.util
    from datetime import timedelta
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", Path(__file__).with_name("gunicorn.conf.py")
    )
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    token = "Tok3n-" + secrets.token_urlsafe(24)
    headers = [
        ("REFERER", f"https://127.0.0.1/p/{token}"),
        ("COOKIE", f"session={token}"),
        ("USER-AGENT", "smoke"),
        ("X-FORWARDED-FOR", "192.0.2.1"),
    ]
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/calendar/{token}.ics?next=/s/{token}",
        "PATH_INFO": f"/calendar/{token}.ics",
        "QUERY_STRING": f"next=/s/{token}&page=2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://127.0.0.1/p/{token}",
        "HTTP_COOKIE": f"session={token}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("Location", f"/s/{token}")])
    request = SimpleNamespace(headers=headers)
    from gunicorn.config import Config

    atoms = conf.RedactingLogger(Config()).atoms(
        response,
        request,
        environ,
        timedelta(milliseconds=3),
    )
    line = json.dumps(atoms)
    check(token not in line, f"a token in the access-log atoms: {line}")
    check(atoms["r"] == "GET /calendar/<token>.ics?<redacted> HTTP/1.1", atoms["r"])
    say(
        f"access-log atoms redacted: r={atoms['r']!r} U={atoms['U']!r} q={atoms['q']!r} "
        f"f={atoms['f']!r}"
    )


if __name__ == "__main__":
    steps = {
        "walk": walk,
        "login": login,
        "logger": logger,
        "prepare": prepare,
        "report-done": report_done,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in steps:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(steps)} [argument]")
    try:
        steps[sys.argv[1]](*sys.argv[2:])
    except SmokeFailure as failure:
        print(f"  walk FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
