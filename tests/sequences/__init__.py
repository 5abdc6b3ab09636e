"""Sequences from anywhere: archives, files, MNIST's views, and masks over padding."""
