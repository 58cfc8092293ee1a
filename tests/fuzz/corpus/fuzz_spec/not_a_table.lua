conv2d "a"
