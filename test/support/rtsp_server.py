#!/usr/bin/python3
"""A GStreamer RTSP server for the RTSP reader tests (run by /usr/bin/python3: Debian's python3-gi).

Serves live test streams on 127.0.0.1: /h264 (x264, zero latency), /mjpeg (JPEG over RTP) and /black
(H.264 of a black picture, for tamper tests).
Prints "READY <port>" on stdout once it listens, so a caller can ask for port 0 and learn the port.
Each stream has its own encoder per client (not shared), so one client's fate never affects another;
--shared gives all clients one encoder, as a benchmark with many readers of one camera needs.

    rtsp_server.py --port 0 --width 320 --height 240 --fps 10 [--auth user:password] [--shared]
    rtsp_server.py --check     # exits 0 when gst-rtsp-server and the encoders are importable
"""

import argparse
import sys

from gst_rtsp import check_elements, load_gst, serve


def check(Gst):
    return check_elements(
        Gst, ("videotestsrc", "x264enc", "rtph264pay", "jpegenc", "rtpjpegpay", "videoconvert")
    )


def launch_lines(width, height, fps):
    caps = "video/x-raw,width={},height={},framerate={}/1".format(width, height, fps)
    # The healthy camera: a ball moving over grey. On the default black background the picture's mean
    # brightness is ~19, right at the tamper check's black level (20), so compression noise alone could
    # report a healthy camera as taped over (and degraded rather than online) on a loaded machine.
    src = "videotestsrc is-live=true pattern=ball background-color=0xff606060 ! " + caps + " ! videoconvert"
    black = "videotestsrc is-live=true pattern=black ! " + caps + " ! videoconvert"
    return {
        # A camera with its lens taped over (tamper tests).
        "/black": "( {} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={} "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )".format(black, fps),
        # key-int-max = fps: a new client waits at most a second for a key frame.
        "/h264": "( {} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={} "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )".format(src, fps),
        # RTP/JPEG (RFC 2435) carries 4:2:0 or 4:2:2 only; the payloader refuses anything else.
        "/mjpeg": "( {} ! video/x-raw,format=I420 ! jpegenc quality=60 "
        "! rtpjpegpay name=pay0 pt=26 )".format(src),
    }


def add_auth(server, GstRtspServer, Gst, user_password):
    user, _, password = user_password.partition(":")
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    return Gst.Structure.from_string(
        "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--auth", default=None, help="user:password required by every mount (Basic)")
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--shared", action="store_true", help="one encoder for all clients (benchmarks: the camera's cost stays flat)"
    )
    args = parser.parse_args()

    GLib, Gst, GstRtspServer = load_gst()
    if args.check:
        return check(Gst)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    role = add_auth(server, GstRtspServer, Gst, args.auth) if args.auth else None
    mounts = server.get_mount_points()
    for path, line in launch_lines(args.width, args.height, args.fps).items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(line)
        factory.set_shared(args.shared)
        if role is not None:
            factory.add_role_from_structure(role)
        mounts.add_factory(path, factory)

    return serve(GLib, server, args.port)


if __name__ == "__main__":
    sys.exit(main())
