"""Small experiments that make a lecture's argument measurable (`cnnkit demo NAME`): `shift`, MLP vs CNN under
shifted inputs."""
