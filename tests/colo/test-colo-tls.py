#!/usr/bin/env python3
"""The coordinator link's modes (docs/security.md): TLS with x509
certificates and with a pre-shared key, end to end with checkpoints and a
failover; every wrong credential (another CA, another key, plain TCP
against TLS and back) refused before any checkpoint byte, with the reason
on both ends, the secondary's dm untouched and the secondary still
listening (and a pairing in place left undisturbed); --insecure warns;
no mode at all is refused; the control socket is owner-only.

The certificates and keys are made here, in the rig's temporary directory,
with GnuTLS's certtool and psktool (Debian's gnutls-bin).
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorig as R  # noqa: E402
import colowire as W  # noqa: E402

# The certificates' lifetime: the test's own, with room for slow runs.
DAYS = "expiration_days = 2\n"
# A certificate valid in 2019 only.
EXPIRED = ('activation_date = "2019-01-01 00:00:00"\n'
           'expiration_date = "2020-01-01 00:00:00"\n')


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    R.check(r.returncode == 0, "%s: %s" % (" ".join(argv), r.stderr))
    return r.stdout


def make_ca(rig, name):
    key, cert, tmpl = (rig.path("%s-%s" % (name, f))
                       for f in ("key.pem", "cert.pem", "tmpl"))
    with open(tmpl, "w") as f:
        f.write("cn = %s\nca\ncert_signing_key\n%s" % (name, DAYS))
    with open(key, "w") as f:
        f.write(run(["certtool", "--generate-privkey", "--key-type",
                     "ecdsa"]))
    run(["certtool", "--generate-self-signed", "--load-privkey", key,
         "--template", tmpl, "--outfile", cert])
    return key, cert


def make_creds(rig, name, ca, who, extra="", life=DAYS):
    """A tls-creds-x509 directory: ca-cert.pem and WHO-cert/key.pem
    (WHO: server or client) signed by `ca`, a (key, cert) pair."""
    d = rig.path(name)
    os.mkdir(d)
    tmpl = os.path.join(d, "tmpl")
    usage = "tls_www_server" if who == "server" else "tls_www_client"
    with open(tmpl, "w") as f:
        f.write("cn = %s\n%s\nsigning_key\nencryption_key\n%s%s" %
                (name, usage, extra, life))
    key = os.path.join(d, who + "-key.pem")
    with open(key, "w") as f:
        f.write(run(["certtool", "--generate-privkey", "--key-type",
                     "ecdsa"]))
    run(["certtool", "--generate-certificate", "--load-privkey", key,
         "--load-ca-certificate", ca[1], "--load-ca-privkey", ca[0],
         "--template", tmpl, "--outfile",
         os.path.join(d, who + "-cert.pem")])
    with open(ca[1]) as src, open(os.path.join(d, "ca-cert.pem"), "w") as f:
        f.write(src.read())
    os.unlink(tmpl)
    return d


def x509_pair(rig):
    """--tls-creds directories for both sides from one CA; the server's
    certificate names the secondary's address."""
    ca = make_ca(rig, "ca")
    sdir = make_creds(rig, "sec-creds", ca, "server",
                      "ip_address = %s\n" % R.SECONDARY_ADDR)
    pdir = make_creds(rig, "pri-creds", ca, "client")
    return ca, ["--tls-creds", sdir], ["--tls-creds", pdir]


def make_psk(rig, name, user="qemu"):
    path = rig.path(name)
    run(["psktool", "-u", user, "-p", path])
    return path


def wait_listening(sec):
    R.wait_until(lambda: sec.status()["state"] == "listening",
                 "the secondary listening")


def untouched(rig, s, sec, before, tag):
    """The secondary's dm never got a checkpoint: never stopped (a
    checkpoint's first step; it would be resumed after, out of
    prelaunch), its state what it was before (the primary's differs), and
    the secondary side completed none."""
    R.check(s.status() == "prelaunch", "%s: the dm was stopped" % tag)
    rc, out = rig.diff(before, s.save(rig.path("s-%s.devstate" % tag)))
    R.check(rc == 0, "the secondary's dm changed (%s): %s" % (tag, out))
    R.check(sec.status()["last-complete-epoch"] == 0, "%s: a checkpoint "
            "completed" % tag)


def refused(rig, p, s, sec, pri_args, pri_says, sec_says, tag):
    """A primary with `pri_args` is refused: it exits 2 naming the reason
    (`pri_says`), the secondary logs its own (`sec_says`), emits
    COLO_PRIMARY_GONE, listens on and its dm is untouched."""
    before = s.save(rig.path("s-before-%s.devstate" % tag))
    rc, _ = rig.diff(before, p.save(rig.path("p-%s.devstate" % tag)))
    R.check(rc == 1, "a checkpoint would not show")
    pri = rig.primary(p, ["--interval", "10"] + pri_args, wait_paired=False,
                      sink=rig.path("out-%s.txt" % tag))
    R.check(pri.wait() == 2, "%s: primary exit status; log:\n%s" %
            (tag, pri.output()))
    R.check(pri_says in pri.output(), "%s: primary says %r, want %r" %
            (tag, pri.output(), pri_says))
    ev = sec.event("COLO_PRIMARY_GONE")
    R.check(sec_says in ev["data"]["reason"], "%s: secondary says %r, want "
            "%r" % (tag, ev["data"]["reason"], sec_says))
    wait_listening(sec)
    untouched(rig, s, sec, before, tag)


def pair_works(rig, p, s, sec_args, pri_args):
    """Checkpoints under the workload leave the secondary equal; killing
    the primary's dm fails the secondary over to the last checkpoint."""
    sec = rig.secondary(s, sec_args)
    pri = rig.primary(p, ["--interval", "0"] + pri_args)
    qt = p.qtest()
    qt.play(R.DRIVER)
    qt.serial_write("one\r\n")
    R.checkpoint(pri)
    qt.cmd("clock_step 5000000")
    R.checkpoint(pri)
    want = p.save(rig.path("p-ck.devstate"))
    R.wait_until(lambda: s.status() == "running", "secondary dm resumed")
    rc, out = rig.diff(want, s.save(rig.path("s-ck.devstate")))
    R.check(rc == 0, "secondary differs after the checkpoints: " + out)
    R.check(rig.read("com1-out.txt") == b"one\r\n", "output released")
    p.kill()
    R.check(pri.wait() == 1, "primary side after its dm died")
    sec.event("COLO_FAILOVER")
    R.wait_until(lambda: s.status() == "running", "secondary took over")
    rc, out = rig.diff(want, s.save(rig.path("s-after.devstate")))
    R.check(rc == 0, "secondary not at the checkpoint: " + out)
    return sec


def test_x509_pair():
    with R.Rig() as rig:
        _, sec_args, pri_args = x509_pair(rig)
        pair_works(rig, rig.dm("p"), rig.dm("s"), sec_args, pri_args)


def test_psk_pair():
    with R.Rig() as rig:
        keys = make_psk(rig, "keys.psk")
        pair_works(rig, rig.dm("p"), rig.dm("s"), ["--tls-psk", keys],
                   ["--tls-psk", keys])


def test_x509_refused():
    """Another CA's client certificate, a server certificate for another
    address, plain TCP both ways, PSK against x509: each refused."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        p.qtest().play(R.DRIVER)
        p.qtest().cmd("clock_step 7000000")  # a checkpoint would show
        ca, sec_args, pri_args = x509_pair(rig)
        sec = rig.secondary(s, sec_args)
        other = make_ca(rig, "other-ca")
        stranger = make_creds(rig, "stranger", other, "client")
        refused(rig, p, s, sec, ["--tls-creds", stranger],
                "The certificate issuer is unknown",
                "does not accept our certificate", "other-ca")
        # trusts our CA, but its own certificate is from another (so
        # it has none to show for the CA our secondary asks for)
        with open(ca[1]) as src, \
                open(os.path.join(stranger, "ca-cert.pem"), "w") as f:
            f.write(src.read())
        refused(rig, p, s, sec, ["--tls-creds", stranger],
                "does not accept our certificate",
                "the peer showed no certificate from our CA",
                "client-other-ca")
        wrong_name = make_creds(rig, "wrong-name", ca, "server",
                                "ip_address = 127.0.0.9\n")
        rig.procs.remove(sec)
        sec.kill()
        sec = rig.secondary(s, ["--tls-creds", wrong_name])
        refused(rig, p, s, sec, pri_args,
                "The name in the certificate does not match the expected", "", "wrong-name")
        refused(rig, p, s, sec, [], "the peer speaks TLS, this side runs "
                "with --insecure", "the peer speaks plain TCP", "plain")
        keys = make_psk(rig, "keys.psk")
        refused(rig, p, s, sec, ["--tls-psk", keys], "TLS handshake failed",
                "TLS handshake failed", "psk-vs-x509")
        # An expired client certificate: our primary refuses to start with
        # one (test_modes_at_start), so GnuTLS's own client shows it.
        rig.procs.remove(sec)
        sec.kill()
        sec = rig.secondary(s, sec_args)
        old = make_creds(rig, "expired", ca, "client", life=EXPIRED)
        subprocess.run(
            ["gnutls-cli", "--x509cafile", ca[1], "--x509certfile",
             os.path.join(old, "client-cert.pem"), "--x509keyfile",
             os.path.join(old, "client-key.pem"), "--port", str(rig.port),
             R.SECONDARY_ADDR], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=30)
        ev = sec.event("COLO_PRIMARY_GONE")
        R.check("expired" in ev["data"]["reason"], "expired: %r" % ev)
        wait_listening(sec)


def test_psk_refused():
    """Another key under the same name, an unknown name, TLS against a
    plain secondary."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        p.qtest().play(R.DRIVER)
        p.qtest().cmd("clock_step 7000000")
        keys = make_psk(rig, "keys.psk")
        sec = rig.secondary(s, ["--tls-psk", keys])
        refused(rig, p, s, sec, ["--tls-psk", make_psk(rig, "other.psk")],
                "pre-shared keys", "pre-shared keys", "other-key")
        refused(rig, p, s, sec, ["--tls-psk", make_psk(rig, "bob.psk", "bob"),
                                 "--tls-username", "bob"],
                "pre-shared keys", "username 'bob' is not in our keys file",
                "unknown-user")
        rig.procs.remove(sec)
        sec.kill()
        sec = rig.secondary(s)  # --insecure
        refused(rig, p, s, sec, ["--tls-psk", keys],
                "the peer speaks plain TCP",
                "the peer speaks TLS, this side runs with --insecure",
                "tls-to-plain")


def test_pairing_undisturbed():
    """While a primary is paired, strangers (a wrong key; plain TCP) are
    turned away and logged; the pairing stays, checkpoints go on; a
    second primary with the right key is told the secondary is busy."""
    with R.Rig() as rig:
        p, s, q = rig.dm("p"), rig.dm("s"), rig.dm("q")
        keys = make_psk(rig, "keys.psk")
        sec = rig.secondary(s, ["--tls-psk", keys])
        pri = rig.primary(p, ["--interval", "0", "--tls-psk", keys])
        p.qtest().play(R.DRIVER)
        R.checkpoint(pri)
        for tag, args, says in (
                ("wrong", ["--tls-psk", make_psk(rig, "x.psk")],
                 "pre-shared keys"),
                ("plain", [], "the peer speaks TLS"),
                ("busy", ["--tls-psk", keys], "paired with another primary")):
            other = rig.primary(q, ["--interval", "10"] + args,
                                wait_paired=False,
                                sink=rig.path("q-%s.txt" % tag))
            # refused in the handshake: exit 2; told "busy" after it: the
            # primary carries on alone, as without TLS
            R.wait_until(lambda: says in other.output(), "%s: %r in %s" %
                         (tag, says, other.output()))
            R.check(tag == "busy" or other.wait() == 2, tag)
            rig.procs.remove(other)
            other.kill()
            R.wait_until(lambda: "refused the connection" in sec.output(),
                         "the secondary logs the refusal")
        R.check("TLS handshake failed" in sec.output(), sec.output())
        R.check(pri.status()["state"] == "protected", "pairing kept")
        R.check(R.checkpoint(pri) == 2, "checkpoints go on")
        R.check("COLO_PRIMARY_GONE" not in sec.output(), sec.output())


def test_stalled_handshake():
    """A peer that stops mid-handshake (half a ClientHello) is dropped
    after the heartbeat timeout; meanwhile the control socket answers at
    once (the handshake never blocks the loop), and afterwards the
    secondary listens again."""
    with R.Rig() as rig:
        s = rig.dm("s")
        keys = make_psk(rig, "keys.psk")
        sec = rig.secondary(s, ["--tls-psk", keys, "--heartbeat-timeout",
                                "600"])
        raw = socket.create_connection((R.SECONDARY_ADDR, rig.port))
        raw.sendall(bytes([22, 3, 1, 0x01, 0x00, 1]))  # 256 bytes promised
        R.wait_until(lambda: sec.status()["state"] == "handshake",
                     "the secondary in the handshake")
        for _ in range(5):
            t0 = time.monotonic()
            sec.status()
            took = time.monotonic() - t0
            # a generous liveness bound: the loop is not held by the peer
            R.check(took < 0.1, "control socket took %.3f s" % took)
        ev = sec.event("COLO_PRIMARY_GONE", timeout=5)
        R.check("heartbeat timeout 600 ms" in ev["data"]["reason"],
                "reason %r" % ev)
        wait_listening(sec)
        raw.settimeout(5)
        R.check(raw.recv(100) == b"", "the stalled peer was disconnected")
        raw.close()


def test_turned_away_in_bounded_time():
    """A peer turned away while the secondary is paired (hello, then
    error(busy)) that keeps talking instead of leaving is cut off after
    the heartbeat timeout: it cannot hold a connection open for ever."""
    with R.Rig() as rig:
        p, s = rig.dm("p"), rig.dm("s")
        sec = rig.secondary(s, ["--heartbeat-timeout", "600"])
        pri = rig.primary(p, ["--interval", "0"])
        raw = socket.create_connection((R.SECONDARY_ADDR, rig.port),
                                       timeout=5)
        raw.sendall(W.hello(W.PRIMARY))
        R.check(W.recv(raw)[0] == W.HELLO, "hello")
        mtype, payload = W.recv(raw)
        R.check(mtype == W.ERROR and b"paired" in payload, "busy")
        # the secondary half-closes at once (EOF here); only its close
        # makes our sends fail
        t0, open_ = time.monotonic(), True
        while open_ and time.monotonic() - t0 < 5:
            try:
                raw.sendall(W.u64(W.HEARTBEAT, 1))
                time.sleep(0.05)
            except OSError:
                open_ = False
        R.check(not open_, "still connected after %.1f s" %
                (time.monotonic() - t0))
        R.check(pri.status()["state"] == "protected", "pairing kept")
        raw.close()


def test_modes_at_start():
    """--insecure warns at start; no mode, two modes, a bad keys file or
    a missing certificate: exit 2 and a clear message. The control socket
    is owner-only, even under umask 0."""
    with R.Rig() as rig:
        s = rig.dm("s")
        old = os.umask(0)
        try:
            sec = rig.secondary(s)
        finally:
            os.umask(old)
        R.check("warning: --insecure" in sec.output(), sec.output())
        mode = os.lstat(sec.ctl_path).st_mode & 0o777
        R.check(mode == 0o600, "control socket mode %o" % mode)
        qmp = ["--qmp", "unix:" + s.qmp_path]
        bad = rig.path("bad.psk")
        with open(bad, "w") as f:
            f.write("qemu:12zz\n")
        short = rig.path("short.psk")
        with open(short, "w") as f:
            f.write("qemu:0011\n")
        os.mkdir(rig.path("empty"))
        old = make_creds(rig, "expired", make_ca(rig, "ca"), "client",
                         life=EXPIRED)
        cases = [
            ([], "the link needs one of: --tls-creds DIR, --tls-psk FILE "
             "or --insecure"),
            (["--insecure", "--tls-psk", bad], "only one of"),
            (["--tls-psk", bad], "bad.psk line 1: the key must be"),
            (["--tls-psk", short], "short.psk line 1: the key must be 16"),
            (["--tls-psk", rig.path("none.psk")], "none.psk"),
            (["--tls-creds", rig.path("empty")], "ca-cert.pem"),
            (["--tls-creds", old], "client-cert.pem: the certificate has "
             "expired"),
            (["--tls-username", "x", "--insecure"],
             "--tls-username goes with --tls-psk"),
        ]
        for args, msg in cases:
            r = subprocess.run(
                [R.LOCKSTEP, "colo", "primary", "--peer", "127.0.0.2:1"] +
                qmp + args, capture_output=True, text=True, timeout=30)
            R.check(r.returncode == 2 and msg in r.stderr,
                    "%r: rc %d, %r" % (args, r.returncode, r.stderr))


if __name__ == "__main__":
    R.dmlib.run_tests([
        test_modes_at_start,
        test_x509_pair, test_psk_pair,
        test_x509_refused, test_psk_refused,
        test_pairing_undisturbed, test_stalled_handshake,
        test_turned_away_in_bounded_time,
    ])
