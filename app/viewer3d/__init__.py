"""3D crystal viewer: vispy adapters (``canvas``), pure adapter logic and the Qt panel."""
