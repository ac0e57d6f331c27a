"""Code shared by the web front end and the workers: settings, data layer, blobs, labels."""
