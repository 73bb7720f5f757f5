#!/usr/bin/python3
"""An RTSP server that plays an H.264 MP4 file the way a display encoder streams (run by /usr/bin/python3:
Debian's python3-gi with gst-rtsp-server).

Serves the file at rtsp://127.0.0.1:PORT/xray without re-encoding, in real time. Every client gets its
own pipeline from the file's first frame (so what a client sees does not depend on when it connected);
at the end of the file the session ends, and a client that reconnects sees the file from the start again.
Prints "READY <port>" on stdout once it listens.

    scrolling-xray-server.py --port 0 --file /tmp/x/scrolling-xray.mp4
    scrolling-xray-server.py --check     # exits 0 when gst-rtsp-server and the elements are there
"""

import argparse
import signal
import sys

ELEMENTS = ("filesrc", "qtdemux", "h264parse", "rtph264pay")


def load_gst():
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    return GLib, Gst, GstRtspServer


def check(Gst):
    missing = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    if missing:
        print("missing GStreamer elements: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


def launch_line(path):
    # config-interval=-1: SPS/PPS with every key frame, so a decoder can start at any of them.
    quoted = '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return (
        "( filesrc location={} ! qtdemux ! h264parse "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )".format(quoted)
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--file", default=None)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    GLib, Gst, GstRtspServer = load_gst()
    if args.check:
        return check(Gst)
    if not args.file:
        print("--file is required", file=sys.stderr)
        return 2

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.file))
    factory.set_shared(False)
    server.get_mount_points().add_factory("/xray", factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("cannot listen on 127.0.0.1:{}".format(args.port), file=sys.stderr)
        return 2

    # Sessions of clients that went away would otherwise keep their pipelines.
    def clean_sessions():
        server.get_session_pool().cleanup()
        return True

    GLib.timeout_add_seconds(2, clean_sessions)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("READY {}".format(server.get_bound_port()), flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
