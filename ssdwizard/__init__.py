"""ssdwizard: walks a Linux or Proxmox server's storage through a proven SSD tuning guide."""

__version__ = "0.1.0"
