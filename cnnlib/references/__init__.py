"""The course's shipped reference results: `<mode>-<device>.json`, read by cnnlib.results (see README.md here)."""
