"""ID card readers: SAM over serial, PC/SC, keyboard wedge, and the simulated twin."""
