#!/usr/bin/python3
"""SMTP sink for the notification-service tests and benchmark (a test peer).

Listens on 127.0.0.1:PORT with Debian's aiosmtpd and writes every accepted
message to DIR as <seq>.eml (temporary file, then rename), prefixed with two
lines naming the envelope: "X-Sink-Mail-From:" and "X-Sink-Rcpt-To:" (one per
recipient). Counts EHLO/HELO greetings in DIR/.sessions, so a test can see
whether the client reused its connection.

  smtp_sink.py --port N --dir DIR [--reject ADDR]... [--tempfail ADDR]...

--reject answers 550 to RCPT TO:<ADDR>, --tempfail answers 451. Runs until
SIGTERM or SIGINT.
"""
import argparse
import asyncio
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder, reject, tempfail):
        self.folder = folder
        self.reject = {a.lower() for a in reject}
        self.tempfail = {a.lower() for a in tempfail}
        self.seq = 0
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._count_session()
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._count_session()
        session.host_name = hostname
        return "250 {}".format(server.hostname)

    def _count_session(self):
        self.sessions += 1
        tmp = os.path.join(self.folder, ".sessions.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % self.sessions)
        os.rename(tmp, os.path.join(self.folder, ".sessions"))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 Mailbox unavailable"
        if address.lower() in self.tempfail:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        head = "X-Sink-Mail-From: %s\r\n" % envelope.mail_from
        for r in envelope.rcpt_tos:
            head += "X-Sink-Rcpt-To: %s\r\n" % r
        name = "%s-%06d.eml" % (os.getpid(), self.seq)
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "wb") as f:
            f.write(head.encode())
            f.write(envelope.content)
        os.rename(tmp, os.path.join(self.folder, name))
        return "250 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--tempfail", action="append", default=[])
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Sink(args.dir, args.reject, args.tempfail),
                            hostname="127.0.0.1", port=args.port)
    controller.start()
    sys.stdout.write("ready %d\n" % args.port)
    sys.stdout.flush()
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop["now"]:
        signal.pause()
    controller.stop()


if __name__ == "__main__":
    main()
