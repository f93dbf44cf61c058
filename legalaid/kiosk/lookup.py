"""The kiosk's look-up: a booking found by its code and the last four digits on the kiosk's own pads,
then moved or cancelled (routes on the kiosk blueprint)."""
