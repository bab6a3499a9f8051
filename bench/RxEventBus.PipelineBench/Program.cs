using RxEventBus.PipelineBench;

return await Harness.RunAsync(args);
