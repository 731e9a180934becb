"""The container's filesystem: mounts, devices, pivot_root, masked and read-only paths."""
