"""Scene graph -> ``visualization_msgs/MarkerArray`` for RViz/Foxglove: one box and one label per
present object, one label per room (with its type), lines object -> room."""
from __future__ import annotations

import zlib

import numpy as np
from geometry_msgs.msg import Point
from visualization_msgs.msg import Marker, MarkerArray

from ros_nodes.convert import set_stamp


def _color(m: Marker, label: str, alpha: float) -> None:
    h = zlib.crc32(label.encode())
    m.color.r, m.color.g, m.color.b = ((h >> s & 255) / 255 * 0.7 + 0.3 for s in (0, 8, 16))
    m.color.a = alpha


def graph_markers(graph, frame_id: str, ns: int) -> MarkerArray:
    """Markers of ``graph`` (a ``robomem.scenegraph.SceneGraph``); starts with DELETEALL so
    objects gone from the graph disappear in the viewer too."""
    out = MarkerArray()
    clear = Marker()
    clear.action = Marker.DELETEALL
    out.markers.append(clear)

    def new(ns_name: str, mid: int, mtype: int) -> Marker:
        m = Marker()
        set_stamp(m.header, ns)
        m.header.frame_id = frame_id
        m.ns, m.id, m.type, m.action = ns_name, int(mid), mtype, Marker.ADD
        m.pose.orientation.w = 1.0
        return m

    rooms = {}
    for a in graph.rooms():
        p = np.asarray(a["position"], dtype=float)
        rooms[int(a["id"])] = p
        t = new("rooms", a["id"], Marker.TEXT_VIEW_FACING)
        t.pose.position.x, t.pose.position.y, t.pose.position.z = float(p[0]), float(p[1]), float(p[2]) + 2.6
        t.scale.z = 0.4
        t.text = f"{a.get('room_type') or 'room'} {a['id']}"
        t.color.r = t.color.g = t.color.b = t.color.a = 1.0
        out.markers.append(t)
    lines = new("in_room", 0, Marker.LINE_LIST)
    lines.scale.x = 0.01
    lines.color.r, lines.color.g, lines.color.b, lines.color.a = 0.6, 0.6, 0.6, 0.6
    for a in graph.objects():
        if a.get("state") == "disappeared":
            continue
        lo, hi = np.asarray(a["bbox_min"], float), np.asarray(a["bbox_max"], float)
        c, e = (lo + hi) / 2, np.maximum(hi - lo, 0.02)
        box = new("objects", a["id"], Marker.CUBE)
        box.pose.position.x, box.pose.position.y, box.pose.position.z = (float(v) for v in c)
        box.scale.x, box.scale.y, box.scale.z = (float(v) for v in e)
        _color(box, a["label"], 0.6)
        out.markers.append(box)
        t = new("labels", a["id"], Marker.TEXT_VIEW_FACING)
        t.pose.position.x, t.pose.position.y, t.pose.position.z = float(c[0]), float(c[1]), float(hi[2]) + 0.12
        t.scale.z = 0.12
        t.text = f"{a['label']} {a['id']}"
        t.color.r = t.color.g = t.color.b = t.color.a = 1.0
        out.markers.append(t)
        r = a.get("room")
        if r is not None and int(r) in rooms:
            rp = rooms[int(r)]
            lines.points.extend([Point(x=float(c[0]), y=float(c[1]), z=float(c[2])),
                                 Point(x=float(rp[0]), y=float(rp[1]), z=float(rp[2]) + 2.5)])
    if lines.points:
        out.markers.append(lines)
    return out
