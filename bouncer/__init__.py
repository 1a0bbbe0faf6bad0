"""Input and output abstention; BouncerBench loading, scoring and export."""
