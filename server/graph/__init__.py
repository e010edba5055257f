"""The graph served: persisted builds, opening the store the settings ask for, and the live holder."""
