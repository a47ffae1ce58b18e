// SkiffTestSupport
