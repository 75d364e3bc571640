"""Facts about the machine that several steps share, computed once per run through the
:class:`~ssdwizard.machine.context.ProbeContext`: the disk inventory and what each disk says
about itself, the kernel log, SATA links, where filesystems sit on the disks, the network, and
whether this is a Proxmox VE node. Steps read these; none of them writes.
"""
