"""Names without a keyboard at the kiosk: handwriting recognised on the server with Zinnia
(routes on the kiosk blueprint)."""
