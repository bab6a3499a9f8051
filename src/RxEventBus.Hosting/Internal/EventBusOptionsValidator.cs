using Microsoft.Extensions.Options;

namespace RxEventBus.Hosting.Internal;

// The bus's own checks (EventBusOptions.Validate), run by ValidateOnStart rather than when the bus is first resolved.
internal sealed class EventBusOptionsValidator : IValidateOptions<EventBusOptionsBuilder>
{
    public ValidateOptionsResult Validate(string? name, EventBusOptionsBuilder options)
    {
        try
        {
            options.Build().Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
