"""Acting on a live cluster: the CNI doctor and live probes (above ``sources``, beside ``lab``)."""
