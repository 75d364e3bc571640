"""The opt-in active tests, which touch a real block device (read-only) on this machine: the
TRIM read-back test and the IOPS measurement. Never run by a report; never on a profile."""
