"""3D scene graph: layers building -> room -> place -> object over a networkx graph.

The :class:`SceneGraph` is a plain data structure (typed nodes and edges); algorithms are functions
in the sibling modules (``relations``, ``rooms``, ``places``) and serialisers in ``io`` (native JSON,
GraphML) and ``spark_dsg`` (Hydra's Spark-DSG JSON)."""
from robomem.scenegraph.graph import EDGE_TYPES, LAYERS, RoomMap, SceneGraph, SceneGraphError, node_id
from robomem.scenegraph.places import add_places, extract_places, shortest_path
from robomem.scenegraph.relations import update_object_relations
from robomem.scenegraph.rooms import add_rooms, infer_room_type, segment_rooms, update_room_types

__all__ = ["SceneGraph", "SceneGraphError", "RoomMap", "LAYERS", "EDGE_TYPES", "node_id",
           "update_object_relations", "segment_rooms", "add_rooms", "update_room_types", "infer_room_type",
           "extract_places", "add_places", "shortest_path"]
