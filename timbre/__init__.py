"""timbre: training-free timbre transfer by editing latent diffusion models at inference time."""
