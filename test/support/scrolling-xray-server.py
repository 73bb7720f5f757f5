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
import sys

from gst_rtsp import check_elements, load_gst, serve

ELEMENTS = ("filesrc", "qtdemux", "h264parse", "rtph264pay")


def check(Gst):
    return check_elements(Gst, ELEMENTS)


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

    return serve(GLib, server, args.port)


if __name__ == "__main__":
    sys.exit(main())
