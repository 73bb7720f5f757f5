"""What the test RTSP servers share (imported by rtsp_server.py and scrolling-xray-server.py, which run
under /usr/bin/python3 with Debian's python3-gi): loading GStreamer, checking for elements, and serving
on loopback until SIGTERM with "READY <port>" on stdout.
"""

import signal
import sys


def load_gst():
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    return GLib, Gst, GstRtspServer


def check_elements(Gst, names):
    """Exit status for --check: 0 when every element is installed, else 1 with the missing ones."""
    missing = [name for name in names if Gst.ElementFactory.find(name) is None]
    if missing:
        print("missing GStreamer elements: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


def serve(GLib, server, port):
    """Listens on 127.0.0.1:port (0: any), prints READY <port>, runs until SIGTERM/SIGINT."""
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("cannot listen on 127.0.0.1:{}".format(port), file=sys.stderr)
        return 2

    # Sessions of clients that vanished (killed readers) would otherwise keep their pipelines running.
    def clean_sessions():
        server.get_session_pool().cleanup()
        return True

    GLib.timeout_add_seconds(2, clean_sessions)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("READY {}".format(server.get_bound_port()), flush=True)
    loop.run()
    return 0
