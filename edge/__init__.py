"""The per-store edge daemon: offline cache, redemption, devices, the cloud link and the staff panel."""
