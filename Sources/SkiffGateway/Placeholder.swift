// SkiffGateway
