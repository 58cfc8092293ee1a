error({ msg = "fake" })
