"""ROS 2 nodes for robomem: thin adapters over the library (perception, memory, query), a simulator
bridge, a one-process runner (``robomem-ros``) and bag tools. Needs ``rclpy`` and the
``robomem_msgs`` interfaces (``make ros`` builds them from the pip wheels); the pure-Python parts
(:mod:`ros_nodes.sync`, :mod:`ros_nodes.tf_buffer`, :mod:`ros_nodes.config`) import without ROS.
``robomem`` never imports this package."""
