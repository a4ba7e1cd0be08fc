"""What a run returns and how it is stored: results, network results, their file formats, the checkpoint file."""
