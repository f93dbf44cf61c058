"""好差评: the veteran rates a consultation (five levels), poor ratings are flagged for a reply."""
