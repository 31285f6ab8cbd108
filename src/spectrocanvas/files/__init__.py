"""Files: pictures, audio and video in and out, output folders that are written whole or not at
all, the provenance every output carries, and reading the sample folders `generate` writes."""
