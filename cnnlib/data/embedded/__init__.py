"""The embedded CIFAR-10 subset shipped with the course, read by cnnlib.data (see README.md here)."""
